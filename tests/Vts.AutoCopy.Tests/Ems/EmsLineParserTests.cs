using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Ems;
using Xunit;

namespace Vts.AutoCopy.Tests.Ems;

public sealed class EmsLineParserTests
{
    [Theory]
    [InlineData("$ZSVR: 0042 MOUNT A00001 ON $TAPE1 WITH RING", "A00001", MountMode.Ring)] // 600
    [InlineData("$ZSVR: 0043 MOUNT B00002 NO RING", "B00002", MountMode.NoRing)] // 601
    [InlineData("$ZSVR: 0044 MOUNT IBM C00003 REEL 2 DENSITY 6250 WITH RING nightly run", "C00003", MountMode.Ring)] // 603
    [InlineData("$ZSVR: 0045 MOUNT IBM C00004 NO RING", "C00004", MountMode.NoRing)] // 604
    [InlineData("$ZSVR: 0046 MOUNT IBM SCRATCH TAPE D00005 WITH RING", "D00005", MountMode.Ring)] // 605
    [InlineData("$ZSVR: 0047 MOUNT TMF E00006 DENSITY 6250 WITH RING", "E00006", MountMode.Ring)] // 609
    [InlineData("$ZSVR: 0048 MOUNT SCRATCH TAPE F00007 ON $TAPE2 NO RING", "F00007", MountMode.NoRing)]
    [InlineData("2026-11-24 10:00:01 \\NODE1.$ZSVR 600 $ZSVR: 0042 MOUNT A1 ON $TAPE1 WITH RING", "A1", MountMode.Ring)]
    public void EMS_text_mount_requests_of_every_label_kind_are_read(string line, string volser, MountMode mode)
    {
        var e = Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse(line));
        Assert.Equal((EmsEventKind.Mount, volser, mode), (e.Kind, e.Volser.Value, e.Mode!.Value));
        Assert.Null(e.Pool);
        Assert.Null(e.Id);
    }

    [Theory]
    [InlineData("STATUS 1512 - A00001 TAPE DISMOUNTED FROM DRIVE $TAPE1")]
    [InlineData("2026-11-24 10:05:00 \\NODE1.$ZSVR 659 STATUS 1512 - A00001 TAPE DISMOUNTED FROM DRIVE $TAPE1")]
    public void EMS_text_dismount_status_is_read(string line)
    {
        var e = Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse(line));
        Assert.Equal((EmsEventKind.Dismount, "A00001"), (e.Kind, e.Volser.Value));
    }

    [Theory]
    [InlineData("$ZSVR: 0048 CANCELMOUNT A00001", "A00001", EmsEventKind.MountCancelled)]
    [InlineData("$ZSVR: 0048 REJECTMOUNT B00002 DRIVE NOT READY", "B00002", EmsEventKind.MountRejected)]
    [InlineData("$ZSVR: 0048 ACCEPTMOUNT C00003 ON $TAPE2", "C00003", EmsEventKind.MountAccepted)]
    [InlineData("2026-11-30 10:00:01 \\NODE1.$ZSVR 000649 $ZSVR: 0048 MOUNT REQUEST FOR A00001 CANCELLED", "A00001", EmsEventKind.MountCancelled)]
    [InlineData("2026-11-30 10:00:01 \\NODE1.$ZSVR 651 $ZSVR: 0049 MOUNT IBM D00004 REJECTED BY OPERATOR", "D00004", EmsEventKind.MountRejected)]
    [InlineData("10:00:01 648 $ZSVR: 0050 TAPE E00005 MOUNTED ON $TAPE1", "E00005", EmsEventKind.MountAccepted)]
    [InlineData("649 $ZSVR: 0051 REQUEST CANCELLED FOR VOLUME F00006", "F00006", EmsEventKind.MountCancelled)]
    [InlineData("651 $ZSVR: 0052 MOUNT OF TAPE G00007 REJECTED", "G00007", EmsEventKind.MountRejected)]
    [InlineData("649 $ZSVR: 0053 MOUNT IBM SCRATCH TAPE H00008 CANCELLED", "H00008", EmsEventKind.MountCancelled)]
    public void R16_What_became_of_a_mount_request_is_read_from_its_name_or_its_event_number(string line, string volser, EmsEventKind kind)
    {
        var parsed = Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse(line));
        Assert.Equal((volser, kind, (MountMode?)null), (parsed.Volser.Value, parsed.Kind, parsed.Mode));
    }

    [Theory]
    [InlineData("$ZSVR: 0052 REQUNKNOWN G00007")]
    [InlineData("608 $ZSVR: 0052 TAPE G00007 UNKNOWN, REPLY WITH A DRIVE")]
    public void R16_An_unknown_tapes_request_608_is_acknowledged_as_ignored(string line) =>
        Assert.Contains("608", Assert.IsType<EmsLine.NotForAutoCopy>(EmsLineParser.Parse(line)).Why);

    [Theory]
    [InlineData("649 $ZSVR: 0053 SOMETHING WAS CANCELLED", "names no tape")]
    [InlineData("$ZSVR: 0053 CANCELMOUNT a00001", "")]
    [InlineData("$ZSVR: 0053 CANCELMOUNT ../../etc", "")]
    public void R16_An_outcome_naming_no_tape_or_a_bad_one_is_refused(string line, string message) =>
        Assert.Contains(message, Assert.IsType<EmsLine.Malformed>(EmsLineParser.Parse(line)).Error);

    [Fact]
    public void R16_A_mount_requests_sequence_number_is_not_mistaken_for_an_event_number() =>
        Assert.Equal(EmsEventKind.Mount, Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse("$ZSVR: 0649 MOUNT A00001 WITH RING")).Kind);

    [Theory]
    [InlineData("cancelmount", EmsEventKind.MountCancelled)]
    [InlineData("rejectmount", EmsEventKind.MountRejected)]
    [InlineData("acceptmount", EmsEventKind.MountAccepted)]
    public void R16_JSON_senders_name_the_outcome(string name, EmsEventKind kind) =>
        Assert.Equal(kind, Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse(
            $$"""{"id":"o-1","event":"{{name}}","pool":"POOL1","volser":"A00001"}""")).Kind);

    [Theory]
    [InlineData("$ZSVR: 0050 REQUEST TO LABEL TAPE A00001")]
    [InlineData("STATUS 1510 - DRIVE $TAPE1 READY")]
    public void Other_EMS_events_are_ignored_not_refused(string line) =>
        Assert.IsType<EmsLine.NotForAutoCopy>(EmsLineParser.Parse(line));

    [Theory]
    [InlineData("$ZSVR: 0042 MOUNT a00001 ON $TAPE1 WITH RING")]
    [InlineData("$ZSVR: 0042 MOUNT A0000001 WITH RING")]
    [InlineData("$ZSVR: 0042 MOUNT ../../X WITH RING")]
    [InlineData("STATUS 1512 - A/0001 TAPE DISMOUNTED FROM DRIVE $TAPE1")]
    public void EMS_text_with_a_bad_volser_is_refused(string line) =>
        Assert.Contains("invalid volser", Assert.IsType<EmsLine.Malformed>(EmsLineParser.Parse(line)).Error);

    [Fact]
    public void JSON_mount_and_dismount_are_read()
    {
        var mount = Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse(
            """{"id":"e-1","event":"mount","pool":"POOL1","volser":"A00001","mode":"ring","time":"2026-11-24T10:00:00Z"}"""));
        Assert.Equal(("e-1", EmsEventKind.Mount, "POOL1", MountMode.Ring), (mount.Id, mount.Kind, mount.Pool!.Value, mount.Mode!.Value));
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero), mount.Time);

        var dismount = Assert.IsType<EmsLine.TapeEvent>(EmsLineParser.Parse("""{"id":"e-2","event":"dismount","pool":"POOL1","volser":"A00001"}"""));
        Assert.Equal((EmsEventKind.Dismount, (MountMode?)null), (dismount.Kind, dismount.Mode));
    }

    [Theory]
    [InlineData("{\"id\":\"e-3\",\"event\":\"mount\"", null, "malformed JSON")]
    [InlineData("[1,2,3]", null, "neither")]
    [InlineData("{\"event\":\"mount\",\"pool\":\"P\",\"volser\":\"A1\",\"mode\":\"ring\"}", null, "'id' is required")]
    [InlineData("{\"id\":42,\"event\":\"mount\"}", null, "'id' must be a string")]
    [InlineData("{\"id\":\"e-4\",\"event\":\"eject\",\"pool\":\"P\",\"volser\":\"A1\"}", "e-4", "unknown event")]
    [InlineData("{\"id\":\"e-5\",\"event\":\"mount\",\"volser\":\"A1\",\"mode\":\"ring\"}", "e-5", "'pool' is required")]
    [InlineData("{\"id\":\"e-6\",\"event\":\"mount\",\"pool\":\"P\",\"mode\":\"ring\"}", "e-6", "'volser' is required")]
    [InlineData("{\"id\":\"e-7\",\"event\":\"mount\",\"pool\":\"P\",\"volser\":\"A1\"}", "e-7", "'mode' is required")]
    [InlineData("{\"id\":\"e-8\",\"event\":\"mount\",\"pool\":\"P\",\"volser\":\"A1\",\"mode\":\"rw\"}", "e-8", "unknown mode")]
    [InlineData("{\"id\":\"e-9\",\"event\":\"dismount\",\"pool\":\"P\",\"volser\":\"A/1\"}", "e-9", "invalid volser")]
    [InlineData("{\"id\":\"e-10\",\"event\":\"dismount\",\"pool\":\"P\",\"volser\":\"..\"}", "e-10", "invalid volser")]
    [InlineData("{\"id\":\"e-11\",\"event\":\"dismount\",\"pool\":\"P\",\"volser\":\"a00001\"}", "e-11", "invalid volser")]
    [InlineData("{\"id\":\"e-12\",\"event\":\"dismount\",\"pool\":\"P\",\"volser\":\"A000001\"}", "e-12", "invalid volser")]
    [InlineData("{\"id\":\"e-13\",\"event\":\"dismount\",\"pool\":\"../etc\",\"volser\":\"A1\"}", "e-13", "invalid pool name")]
    [InlineData("{\"id\":\"e-14\",\"event\":\"dismount\",\"pool\":\"P\",\"volser\":\"A1\",\"time\":\"yesterday\"}", "e-14", "'time' is not")]
    [InlineData("{\"id\":\"e-15\",\"event\":\"dismount\",\"pool\":\"P\",\"volser\":\"A1\",\"mode\":\"ring\"}", "e-15", "'mode' belongs to a mount")]
    [InlineData("{\"id\":\"e-16\",\"event\":\"dismount\",\"pool\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}},\"volser\":\"A1\"}", null, "malformed JSON")]
    [InlineData("", null, "empty line")]
    [InlineData("\u0001\u0002garbage\u00ff", null, "control characters")]
    [InlineData("hello there", null, "neither a JSON event")]
    public void Malformed_or_hostile_lines_are_refused_with_a_reason(string line, string? id, string error)
    {
        var refused = Assert.IsType<EmsLine.Malformed>(EmsLineParser.Parse(line));
        Assert.Equal(id, refused.Id);
        Assert.Contains(error, refused.Error);
    }

    [Fact]
    public void An_id_longer_than_64_characters_is_refused()
    {
        var line = $$"""{"id":"{{new string('x', 65)}}","event":"dismount","pool":"P","volser":"A1"}""";
        Assert.Contains("longer than 64", Assert.IsType<EmsLine.Malformed>(EmsLineParser.Parse(line)).Error);
    }
}
