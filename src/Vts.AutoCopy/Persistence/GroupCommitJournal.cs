using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace Vts.AutoCopy.Persistence;

/// <summary>Akka.Persistence.Sql's journal with group commit: writes that arrive while one is in flight go together in
/// the next transaction, and a group whose transaction fails is written again one caller at a time, so that one bad
/// write fails only its own caller (on any database: the plugin itself fails a whole batch with it).
/// On SQLite the plugin's own batching never saw more than one write: Microsoft.Data.Sqlite is synchronous, so the
/// batching stage is blocked for the whole of each write, and every tape event became a transaction and an fsync of
/// its own (about 2,000 events/s here, the writer 300 commits/s). Writes of one actor keep their order: Akka sends an
/// actor's next write only after its previous one is confirmed. A group is inserted, and recoveries read, through our
/// own statements (<see cref="IJournalStatements"/>: SQLite's or PostgreSQL's); on any other database or table layout
/// through the plugin's.</summary>
public sealed class GroupCommitJournal(Akka.Configuration.Config config) : SqlWriteJournal(config)
{
    private sealed record GroupWritten(List<Waiting> Group, Task<IImmutableList<Exception>> Written) : INoSerializationVerificationNeeded;

    private sealed record Waiting(IReadOnlyList<AtomicWrite> Writes, TaskCompletionSource<IImmutableList<Exception>> Done);

    private readonly IJournalStatements? _statements = JournalStatements.For(config, Context.System);
    private List<Waiting> _waiting = [];
    private bool _writing;
    /// <summary>Callers of a failed group, written again one at a time before anything new.</summary>
    private readonly Queue<Waiting> _alone = new();
    /// <summary>The last unfinished write of each persistence id: a recovery must not read its highest sequence number
    /// before that write has ended (the plugin tracks only the first id of each call, and a group has many).</summary>
    private readonly Dictionary<string, Task> _unfinished = [];

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellation)
    {
        // One transaction carries many callers' writes, so no one caller's token may cancel it; the journal's circuit
        // breaker still fails a caller whose write takes too long.
        var waiting = new Waiting(messages.ToList(), new TaskCompletionSource<IImmutableList<Exception>>(TaskCreationOptions.RunContinuationsAsynchronously));
        _waiting.Add(waiting);
        foreach (var write in waiting.Writes) _unfinished[write.PersistenceId] = waiting.Done.Task;
        if (!_writing) WriteNext();
        return waiting.Done.Task;
    }

    /// <summary>Every recovery asks this first. On SQLite the plugin runs the query on the journal's own thread (SQLite
    /// is synchronous), where it took turns with every write and every other recovery; ours run beside it.</summary>
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellation)
    {
        if (_unfinished.TryGetValue(persistenceId, out var write))
            await write.ContinueWith(_ => { }, TaskScheduler.Default); // its outcome is the writer's business
        if (_statements is { } statements) return await statements.HighestSequenceNr(persistenceId, fromSequenceNr);
        return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellation);
    }

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback) =>
        _statements is { } statements
            ? statements.Replay(persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback)
            : base.ReplayMessagesAsync(context, persistenceId, fromSequenceNr, toSequenceNr, max, recoveryCallback);

    protected override bool ReceivePluginInternal(object message)
    {
        if (message is not GroupWritten done) return base.ReceivePluginInternal(message);
        _writing = false;
        if (done.Written.IsFaulted && done.Group.Count > 1)
        {
            // A failed transaction wrote nothing. One caller's bad write (a sequence number already taken, say) must
            // not fail every other caller with it, nor count as many failures towards the journal's circuit breaker:
            // each is written again on its own, and only what fails then fails.
            foreach (var waiting in done.Group) _alone.Enqueue(waiting);
        }
        else
        {
            Settle(done.Group, done.Written);
            foreach (var waiting in done.Group)
            foreach (var write in waiting.Writes)
                if (_unfinished.TryGetValue(write.PersistenceId, out var last) && last == waiting.Done.Task)
                    _unfinished.Remove(write.PersistenceId);
        }
        WriteNext();
        return true;
    }

    private void WriteNext()
    {
        List<Waiting> group;
        if (_alone.TryDequeue(out var alone))
        {
            group = [alone];
        }
        else if (_waiting.Count > 0)
        {
            group = _waiting;
            _waiting = [];
        }
        else
        {
            return;
        }
        _writing = true;
        Task<IImmutableList<Exception>> writing;
        try
        {
            var writes = group.SelectMany(w => w.Writes).ToList();
            // With our statements every write comes here, none through the plugin: a persistence id's rows then all
            // carry their actor incarnation's writer id, never alternating with the plugin's one id per journal.
            writing = _statements is { } statements
                ? statements.Write(writes)!
                : base.WriteMessagesAsync(writes, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Thrown before any write began: handled as a failed transaction, so the journal never stays "writing".
            writing = Task.FromException<IImmutableList<Exception>>(e);
        }
        var self = Self;
        writing.ContinueWith(written => self.Tell(new GroupWritten(group, written), ActorRefs.NoSender), TaskScheduler.Default);
    }

    /// <summary>Hands each caller its part of the outcome: the plugin answers one entry per atomic write, in order (null,
    /// or why that one was rejected); a failed transaction fails its callers.</summary>
    private static void Settle(List<Waiting> group, Task<IImmutableList<Exception>> written)
    {
        if (written.Exception is { } failure)
        {
            foreach (var w in group) w.Done.TrySetException(failure.InnerExceptions);
            return;
        }
        if (written.IsCanceled)
        {
            foreach (var w in group) w.Done.TrySetCanceled();
            return;
        }
        if (written.Result is not { } rejections)
        {
            foreach (var w in group) w.Done.TrySetResult(null!); // "all went in", should the plugin ever say it so
            return;
        }
        var offset = 0;
        foreach (var w in group)
        {
            var from = offset;
            w.Done.TrySetResult(Enumerable.Range(from, w.Writes.Count).Select(i => rejections[i]).ToImmutableList());
            offset += w.Writes.Count;
        }
    }
}
