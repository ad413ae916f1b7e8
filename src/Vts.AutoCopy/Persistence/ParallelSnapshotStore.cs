using Akka.Persistence;
using Akka.Persistence.Sql.Snapshot;

namespace Vts.AutoCopy.Persistence;

/// <summary>Akka.Persistence.Sql's snapshot store, loading on the thread pool. Every recovering actor first asks for its
/// latest snapshot; on SQLite (synchronous) each query ran on the store's own thread, one at a time: after a restart
/// with 10,000 busy tapes, that thread was busy most of the time and every recovery queued for it. On SQLite the load
/// is a plain statement (<see cref="SqliteJournalStatements"/>) on <see cref="SqliteThreads"/>.</summary>
public sealed class ParallelSnapshotStore(Akka.Configuration.Config config) : SqlSnapshotStore(config)
{
    private readonly SqliteJournalStatements? _sqlite = SqliteJournalStatements.For(config, Context.System);

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellation) =>
        _sqlite is { } sqlite
            ? SqliteThreads.Readers.Run(() => sqlite.LatestSnapshot(persistenceId, criteria))
            : Task.Run(() => base.LoadAsync(persistenceId, criteria, cancellation), cancellation);
}
