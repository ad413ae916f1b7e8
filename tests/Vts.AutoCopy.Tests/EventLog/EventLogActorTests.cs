using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Tests.CopyEngine;
using Xunit;

namespace Vts.AutoCopy.Tests.EventLog;

/// <summary>docs/operations.md (Event log), docs/cluster.md: one event log for the cluster, a keyed entry in it once, and every node's event.log a copy of it in the VTS layout.</summary>
public sealed class EventLogActorTests() : TestKit(EngineHarness.TestConfig), IDisposable
{
    private readonly string _stateDir = Directory.CreateTempSubdirectory("vts-eventlog-").FullName;
    private static readonly DateTimeOffset T = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_keyed_entry_sent_twice_is_logged_once_and_confirmed_twice()
    {
        var log = Sys.ActorOf(EventLogActor.Props());
        var entry = Failed("n1");
        log.Tell(entry);
        ExpectMsg(new EntryLogged(entry.Key!));
        // The tape moved to another node and reports again: one log for the cluster, so still one entry.
        log.Tell(entry with { Time = T.AddMinutes(1), Node = "n2" });
        ExpectMsg(new EntryLogged(entry.Key!));

        var recent = log.Ask<RecentEntries>(new GetRecentEntries(10)).GetAwaiter().GetResult();
        Assert.Equal("n1", Assert.Single(recent.Entries).Node);
    }

    [Fact]
    public void Each_node_writes_the_cluster_log_to_its_event_log_file_in_the_VTS_layout_and_goes_on_where_it_stopped()
    {
        var journal = new List<EventEnvelope>
        {
            Envelope(1, Failed("n1")),
            Envelope(2, new EventLogEntry(T, Severity.Info, MessageIds.CopyCompleted, "n2", "POOL2", "B00001", "copied")),
        };
        var follower = Sys.ActorOf(EventLogFile.Props(_stateDir, from => Source.From(journal.Where(e => e.SequenceNr >= from).ToList())));
        var file = Path.Combine(_stateDir, EventLogFile.FileName);
        AwaitAssert(() => Assert.Equal(2, File.ReadAllLines(file).Length), Dilated(TimeSpan.FromSeconds(5)));
        var lines = File.ReadAllLines(file);
        Assert.Equal("2026-11-24 10:00:00|ERROR|624004|n1|127.0.0.1", string.Join('|', lines[0].Split('|').Take(5)));
        Assert.EndsWith("|vts|AutoCopy|POOL1/A00001: copy to dr:DRPOOL1 failed after 12 attempts; last cause: refused", lines[0]);
        Assert.Contains("|224001|n2|", lines[1]);

        // A restart follows from the line after the last one written, not from the beginning.
        Watch(follower);
        Sys.Stop(follower);
        ExpectTerminated(follower);
        journal.Add(Envelope(3, new EventLogEntry(T, Severity.Info, MessageIds.NodeStarted, "n3", null, null, "node started")));
        Sys.ActorOf(EventLogFile.Props(_stateDir, from => Source.From(journal.Where(e => e.SequenceNr >= from).ToList())));
        AwaitAssert(() => Assert.Equal(3, File.ReadAllLines(file).Length), Dilated(TimeSpan.FromSeconds(5)));
        Assert.Contains("|220001|n3|", File.ReadAllLines(file)[2]);
    }

    private static EventLogEntry Failed(string node) => new(T, Severity.Error, MessageIds.CopyFailed, node, "POOL1", "A00001",
        "copy to dr:DRPOOL1 failed after 12 attempts; last cause: refused", "tape-POOL1-A00001/failed/1");

    private static EventEnvelope Envelope(long sequenceNr, EventLogEntry entry) =>
        new(Offset.Sequence(sequenceNr), EventLogActor.PersistenceIdValue, sequenceNr, entry, entry.Time.UtcTicks, []);

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
