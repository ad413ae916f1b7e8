using Akka.Actor;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Tests.CopyEngine;
using Xunit;

namespace Vts.AutoCopy.Tests.EventLog;

/// <summary>§4.5: entries are journaled, written to event.log in the VTS layout, and a keyed entry appears once.</summary>
public sealed class EventLogActorTests() : TestKit(EngineHarness.TestConfig), IDisposable
{
    private readonly string _stateDir = Directory.CreateTempSubdirectory("vts-eventlog-").FullName;
    private static readonly DateTimeOffset T = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_keyed_entry_sent_twice_is_logged_once_and_confirmed_twice()
    {
        var log = Sys.ActorOf(EventLogActor.Props("n1", _stateDir));
        var entry = new EventLogEntry(T, Severity.Error, MessageIds.CopyFailed, "n1", "POOL1", "A00001",
            "copy to dr:DRPOOL1 failed after 12 attempts; last cause: refused", "tape-POOL1-A00001/failed/1");
        log.Tell(entry);
        ExpectMsg(new EntryLogged(entry.Key!));
        log.Tell(entry with { Time = T.AddMinutes(1) });
        ExpectMsg(new EntryLogged(entry.Key!));

        var recent = log.Ask<RecentEntries>(new GetRecentEntries(10)).GetAwaiter().GetResult();
        Assert.Single(recent.Entries);
        var lines = File.ReadAllLines(Path.Combine(_stateDir, "event.log"));
        var line = Assert.Single(lines);
        Assert.Equal("2026-11-24 10:00:00|ERROR|624004|n1|127.0.0.1", string.Join('|', line.Split('|').Take(5)));
        Assert.EndsWith("|vts|AutoCopy|POOL1/A00001: copy to dr:DRPOOL1 failed after 12 attempts; last cause: refused", line);
    }

    [Fact]
    public void A_long_or_hostile_text_keeps_the_line_within_255_characters_and_nine_fields()
    {
        var line = EventLogLine.Format(new EventLogEntry(T, Severity.Warning, MessageIds.AttemptFailed, "n|1", "P", "V",
            "cause with | pipes and\nnew lines " + new string('x', 400)));
        Assert.True(line.Length <= EventLogLine.MaxLength);
        Assert.Equal(9, line.Split('|').Length);
        Assert.DoesNotContain('\n', line);
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_stateDir, true);
    }
}
