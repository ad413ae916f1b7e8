using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Xunit;

namespace Vts.AutoCopy.Tests.Persistence;

/// <summary>What any journal and snapshot store the node runs on must do, the cases of Akka.Persistence's own journal
/// and snapshot-store specs (that TCK package is not served here): writes kept whole, in order and their writer's own,
/// replay by range, the highest sequence number kept after deletes, tags seen by the read journal, a history the plugin
/// wrote recovered, a failed or rejected write failing only its own caller, recovery from the latest snapshot. Run on
/// SQLite (the node's own statements, <see cref="SqliteJournalTests"/>) and on a real PostgreSQL (the plugin as it
/// comes, <see cref="PostgreSqlJournalTests"/>), with the configuration the node itself uses.
/// A second journal, <c>akka.persistence.journal.plugin-alone</c>, is the plugin's own on the same database.</summary>
/// <remarks>These alone run without <c>serialize-messages</c>: they send none of our messages, and Akka's own replies to a
/// failed write carry the exception, which that check cannot serialize (the replies were lost, not the writes).</remarks>
public abstract class JournalBehaviour(Config config) : TestKit(config)
{
    protected sealed record Write(int Count);

    protected sealed record Written(string Id, long LastSequenceNr);

    protected sealed record Recovered(string Id, IReadOnlyList<string> Events, long LastSequenceNr);

    protected sealed record Rejected(string Id, object Event);

    protected sealed record Failed(string Id);

    protected sealed record WriteTagged(string Event, string Tag);

    protected sealed record TakeSnapshot;

    protected sealed record DeleteUpTo(long SequenceNr);

    protected sealed record SnapshotTaken(long SequenceNr);

    protected sealed record RecoveredFromSnapshot(string Id, IReadOnlyList<string> Snapshot, long SequenceNr);

    /// <summary>Cannot be serialized: the journal must reject it, for its writer alone.</summary>
    private sealed class Unserializable
    {
        public string Value => throw new InvalidOperationException("not serializable");
    }

    /// <summary>Persists the events it is asked for and reports its recovered history on start.</summary>
    private sealed class Writer : ReceivePersistentActor
    {
        private readonly IActorRef _probe;
        private readonly List<string> _events = [];

        public override string PersistenceId { get; }

        private readonly Akka.Persistence.Recovery _recovery;

        public override Akka.Persistence.Recovery Recovery => _recovery;

        public Writer(string id, IActorRef probe, string? journal = null, long replayUpTo = long.MaxValue)
        {
            PersistenceId = id;
            _recovery = replayUpTo == long.MaxValue ? Akka.Persistence.Recovery.Default
                : new Akka.Persistence.Recovery(SnapshotSelectionCriteria.None, replayUpTo);
            if (journal is not null) JournalPluginId = journal;
            _probe = probe;
            Recover<SnapshotOffer>(offer =>
            {
                _events.AddRange((string[])offer.Snapshot);
                _probe.Tell(new RecoveredFromSnapshot(PersistenceId, _events.ToList(), offer.Metadata.SequenceNr));
            });
            Recover<string>(_events.Add);
            Recover<RecoveryCompleted>(_ => _probe.Tell(new Recovered(PersistenceId, _events.ToList(), LastSequenceNr)));
            // One event per write, the next sent only once it is confirmed: each a journal write of its own, as tape actors do.
            Command<Write>(w => Persist($"{PersistenceId}:{LastSequenceNr + 1}", e =>
            {
                _events.Add(e);
                if (w.Count > 1) Self.Tell(new Write(w.Count - 1));
                else _probe.Tell(new Written(PersistenceId, LastSequenceNr));
            }));
            Command<Unserializable>(u => Persist(u, _ => { }));
            Command<WriteTagged>(w => Persist(new Tagged(w.Event, [w.Tag]), _ =>
            {
                _events.Add(w.Event);
                _probe.Tell(new Written(PersistenceId, LastSequenceNr));
            }));
            Command<TakeSnapshot>(_ => SaveSnapshot(_events.ToArray()));
            Command<DeleteUpTo>(d => DeleteMessages(d.SequenceNr));
            Command<DeleteMessagesSuccess>(d => _probe.Tell(d));
            Command<SaveSnapshotSuccess>(s => _probe.Tell(new SnapshotTaken(s.Metadata.SequenceNr)));
        }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr) =>
            _probe.Tell(new Rejected(PersistenceId, @event));

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _probe.Tell(new Failed(PersistenceId));
            base.OnPersistFailure(cause, @event, sequenceNr);
        }
    }

    protected IActorRef Start(string id, string? journal = null, long replayUpTo = long.MaxValue) =>
        Sys.ActorOf(Props.Create(() => new Writer(id, TestActor, journal, replayUpTo)));

    protected static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    /// <summary>Started and recovered, before it is given anything to write.</summary>
    protected IActorRef StartRecovered(string id, string? journal = null)
    {
        var writer = Start(id, journal);
        ExpectMsg<Recovered>(Dilated(Step));
        return writer;
    }

    /// <summary>Tells the writer, waits for it to confirm the write, and answers its last sequence number.</summary>
    protected long Wrote(IActorRef writer, object command)
    {
        writer.Tell(command);
        return ExpectMsg<Written>(Dilated(Step)).LastSequenceNr;
    }

    protected void Stop(IActorRef writer)
    {
        Watch(writer).Tell(PoisonPill.Instance);
        ExpectTerminated(writer);
    }

    [Fact]
    public void Concurrent_writes_of_many_actors_are_all_journaled_in_order_and_recovered()
    {
        var ids = Enumerable.Range(0, 100).Select(i => $"writer-{i}").ToList();
        var writers = ids.Select(id => Start(id)).ToList();
        ReceiveN(ids.Count, Dilated(TimeSpan.FromSeconds(20))); // each writer's (empty) recovery
        foreach (var writer in writers) writer.Tell(new Write(5));
        var written = ReceiveN(ids.Count, Dilated(TimeSpan.FromSeconds(20))).Cast<Written>().ToList();
        Assert.All(written, w => Assert.Equal(5, w.LastSequenceNr));

        foreach (var writer in writers) Watch(writer).Tell(PoisonPill.Instance);
        ReceiveN(ids.Count, Dilated(TimeSpan.FromSeconds(20)));
        foreach (var id in ids) Start(id);
        var recovered = ReceiveN(ids.Count, Dilated(TimeSpan.FromSeconds(20))).Cast<Recovered>().ToList();
        Assert.All(recovered, r =>
        {
            Assert.Equal(Enumerable.Range(1, 5).Select(n => $"{r.Id}:{n}"), r.Events);
            Assert.Equal(5, r.LastSequenceNr);
        });
    }

    [Fact]
    public async Task A_rejected_write_fails_its_own_actor_only_while_the_others_in_flight_go_in_tagged_or_not()
    {
        var writers = Enumerable.Range(0, 50).Select(i => Start($"mixed-{i}")).ToList();
        ReceiveN(writers.Count, Dilated(TimeSpan.FromSeconds(20)));
        var bad = StartRecovered("mixed-bad");
        foreach (var writer in writers.Take(25)) writer.Tell(new Write(3));
        bad.Tell(new Unserializable());
        foreach (var (writer, i) in writers.Skip(25).Select((w, i) => (w, i + 25))) writer.Tell(new WriteTagged($"mixed-{i}:tagged", "mixed"));

        var replies = ReceiveN(writers.Count + 1, Dilated(TimeSpan.FromSeconds(20)));
        Assert.Equal("mixed-bad", Assert.Single(replies.OfType<Rejected>()).Id);
        Assert.Equal(25, replies.OfType<Written>().Count(w => w.LastSequenceNr == 3));
        Assert.Equal(25, replies.OfType<Written>().Count(w => w.LastSequenceNr == 1));

        // Each tag row points at its own event, even where many went in one transaction.
        var journal = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql");
        await AwaitAssertAsync(async () =>
        {
            var tagged = await journal.CurrentEventsByTag("mixed", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
            Assert.Equal(Enumerable.Range(25, 25).Select(i => ($"mixed-{i}", 1L, $"mixed-{i}:tagged")).Order(),
                tagged.Select(e => (e.PersistenceId, e.SequenceNr, (string)e.Event)).Order());
        }, Dilated(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_write_that_fails_its_transaction_fails_alone_while_the_rest_of_its_group_goes_in()
    {
        var writers = Enumerable.Range(0, 50).Select(i => Start($"group-{i}")).ToList();
        // The same persistence id twice (as a split cluster might leave it): both claim sequence number 1.
        var twins = new[] { Start("twin"), Start("twin") };
        ReceiveN(writers.Count + twins.Length, Dilated(TimeSpan.FromSeconds(20)));
        foreach (var writer in writers.Take(25)) writer.Tell(new Write(1));
        foreach (var twin in twins) twin.Tell(new Write(1));
        foreach (var writer in writers.Skip(25)) writer.Tell(new Write(1));

        var replies = ReceiveN(writers.Count + twins.Length, Dilated(TimeSpan.FromSeconds(20)));
        Assert.Equal(writers.Count, replies.OfType<Written>().Count(w => w.Id.StartsWith("group-")));
        Assert.Single(replies.OfType<Written>(), w => w.Id == "twin");
        Assert.Equal("twin", Assert.Single(replies.OfType<Failed>()).Id);
    }

    [Fact]
    public async Task Events_we_insert_read_back_through_the_plugins_own_queries_tags_included()
    {
        var writer = StartRecovered("compatible");
        Wrote(writer, new Write(2));
        Wrote(writer, new WriteTagged("compatible:tagged", "audit"));
        Assert.Equal(4, Wrote(writer, new Write(1)));

        var journal = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>("akka.persistence.query.journal.sql");
        var materializer = Sys.Materializer();
        // The query side is eventually consistent by contract, so it is given a moment.
        await AwaitAssertAsync(async () =>
        {
            var events = await journal.CurrentEventsByPersistenceId("compatible", 0, long.MaxValue)
                .RunWith(Sink.Seq<EventEnvelope>(), materializer);
            Assert.Equal(["compatible:1", "compatible:2", "compatible:tagged", "compatible:4"], events.Select(e => (string)e.Event));
            Assert.Equal([1L, 2, 3, 4], events.Select(e => e.SequenceNr));
            var tagged = await journal.CurrentEventsByTag("audit", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), materializer);
            Assert.Equal(("compatible", 3L, "compatible:tagged"), Assert.Single(tagged.Select(e => (e.PersistenceId, e.SequenceNr, (string)e.Event))));
        }, Dilated(TimeSpan.FromSeconds(10)));

        Stop(writer);
        Start("compatible");
        var recovered = ExpectMsg<Recovered>(Dilated(TimeSpan.FromSeconds(10)));
        Assert.Equal(["compatible:1", "compatible:2", "compatible:tagged", "compatible:4"], recovered.Events);
        Assert.Equal(4, recovered.LastSequenceNr);
    }

    [Fact]
    public void A_history_the_plugin_wrote_recovers_through_our_reads_and_goes_on()
    {
        var old = StartRecovered("inherited", journal: "akka.persistence.journal.plugin-alone");
        Wrote(old, new Write(2));
        Wrote(old, new WriteTagged("inherited:tagged", "audit"));
        Stop(old);

        var writer = Start("inherited");
        var recovered = ExpectMsg<Recovered>(Dilated(TimeSpan.FromSeconds(10)));
        Assert.Equal(["inherited:1", "inherited:2", "inherited:tagged"], recovered.Events);
        Assert.Equal(3, recovered.LastSequenceNr);
        Assert.Equal(4, Wrote(writer, new Write(1)));
        Stop(writer);

        Start("inherited");
        Assert.Equal(["inherited:1", "inherited:2", "inherited:tagged", "inherited:4"],
            ExpectMsg<Recovered>(Dilated(TimeSpan.FromSeconds(10))).Events);
    }

    [Fact]
    public void A_recovery_starts_from_the_latest_snapshot_and_replays_only_what_came_after()
    {
        var writer = StartRecovered("snapshotted");
        Wrote(writer, new Write(2));
        writer.Tell(new TakeSnapshot());
        Assert.Equal(2, ExpectMsg<SnapshotTaken>(Dilated(TimeSpan.FromSeconds(10))).SequenceNr);
        Wrote(writer, new Write(1));
        writer.Tell(new TakeSnapshot());
        Assert.Equal(3, ExpectMsg<SnapshotTaken>(Dilated(TimeSpan.FromSeconds(10))).SequenceNr);
        Wrote(writer, new Write(1));
        Stop(writer);

        Start("snapshotted");
        var fromSnapshot = ExpectMsg<RecoveredFromSnapshot>(Dilated(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, fromSnapshot.SequenceNr);
        Assert.Equal(["snapshotted:1", "snapshotted:2", "snapshotted:3"], fromSnapshot.Snapshot);
        var recovered = ExpectMsg<Recovered>(Dilated(TimeSpan.FromSeconds(10)));
        Assert.Equal(["snapshotted:1", "snapshotted:2", "snapshotted:3", "snapshotted:4"], recovered.Events);
        Assert.Equal(4, recovered.LastSequenceNr);
    }

    /// <summary>Recoveries that ask at once are read together (a crowd): each must get its own snapshot, or none.</summary>
    [Fact]
    public void Many_recoveries_at_once_each_start_from_their_own_snapshot_or_none()
    {
        var ids = Enumerable.Range(0, 60).Select(i => $"crowd-{i}").ToList();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var writer = StartRecovered(id);
            Wrote(writer, new Write(i % 3 + 1));
            if (i % 2 == 0)
            {
                writer.Tell(new TakeSnapshot());
                ExpectMsg<SnapshotTaken>(Dilated(Step));
                Wrote(writer, new Write(1));
            }
            Stop(writer);
        }

        foreach (var id in ids) Start(id);
        var messages = ReceiveN(ids.Count + ids.Count / 2, Dilated(TimeSpan.FromSeconds(20)));
        var snapshots = messages.OfType<RecoveredFromSnapshot>().ToDictionary(s => s.Id);
        var recovered = messages.OfType<Recovered>().ToDictionary(r => r.Id);
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var events = i % 3 + 1 + (i % 2 == 0 ? 1 : 0);
            Assert.Equal(Enumerable.Range(1, events).Select(n => $"{id}:{n}"), recovered[id].Events);
            if (i % 2 == 0)
                Assert.Equal(Enumerable.Range(1, i % 3 + 1).Select(n => $"{id}:{n}"), snapshots[id].Snapshot);
            else
                Assert.False(snapshots.ContainsKey(id), $"{id} was offered another's snapshot");
        }
    }

    [Fact]
    public void Recovery_replays_only_up_to_the_sequence_number_asked_for()
    {
        var writer = StartRecovered("ranged");
        Wrote(writer, new Write(5));
        Stop(writer);

        Start("ranged", replayUpTo: 3);
        Assert.Equal(["ranged:1", "ranged:2", "ranged:3"], ExpectMsg<Recovered>(Dilated(Step)).Events);
    }

    [Fact]
    public void After_deleting_every_event_the_highest_sequence_number_is_kept_and_writes_go_on_after_it()
    {
        var writer = StartRecovered("deleted");
        Wrote(writer, new Write(4));
        writer.Tell(new DeleteUpTo(4));
        ExpectMsg<DeleteMessagesSuccess>(Dilated(Step));
        Stop(writer);

        writer = Start("deleted");
        var recovered = ExpectMsg<Recovered>(Dilated(Step));
        Assert.Empty(recovered.Events);
        Assert.Equal(4, recovered.LastSequenceNr);
        Assert.Equal(5, Wrote(writer, new Write(1)));
    }

    [Fact]
    public void A_long_history_recovers_whole_and_in_order()
    {
        // Longer than what a recovery reads ahead with its highest sequence number on PostgreSQL (1,000 events).
        var writer = StartRecovered("long");
        writer.Tell(new Write(1_205));
        ExpectMsg<Written>(Dilated(TimeSpan.FromSeconds(60)));
        writer.Tell(new DeleteUpTo(2));
        ExpectMsg<DeleteMessagesSuccess>(Dilated(Step));
        Stop(writer);

        Start("long");
        var recovered = ExpectMsg<Recovered>(Dilated(Step));
        Assert.Equal(Enumerable.Range(3, 1_203).Select(i => $"long:{i}"), recovered.Events);
        Assert.Equal(1_205, recovered.LastSequenceNr);

        Start("long", replayUpTo: 1_100);
        Assert.Equal(Enumerable.Range(3, 1_098).Select(i => $"long:{i}"), ExpectMsg<Recovered>(Dilated(Step)).Events);
    }
}
