using Akka.Persistence;
using Akka.Persistence.Sql.Snapshot;

namespace Vts.AutoCopy.Persistence;

/// <summary>Akka.Persistence.Sql's snapshot store, loading beside its own thread. Every recovering actor first asks for
/// its latest snapshot; on SQLite (synchronous) each query ran on the store's own thread, one at a time: after a restart
/// with 10,000 busy tapes, that thread was busy most of the time and every recovery queued for it. The load is our own
/// statement (<see cref="IJournalStatements"/>, SQLite's or PostgreSQL's); on any other database the plugin's, on the
/// thread pool.</summary>
public sealed class ParallelSnapshotStore(Akka.Configuration.Config config) : SqlSnapshotStore(config)
{
    private readonly IJournalStatements? _statements = JournalStatements.For(config, Context.System);

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellation) =>
        _statements is { } statements
            ? statements.LatestSnapshot(persistenceId, criteria)
            : Task.Run(() => base.LoadAsync(persistenceId, criteria, cancellation), cancellation);
}
