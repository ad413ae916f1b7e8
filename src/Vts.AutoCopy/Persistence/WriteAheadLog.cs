using Microsoft.Data.Sqlite;

namespace Vts.AutoCopy.Persistence;

/// <summary>Keeps the SQLite journal's write-ahead log (<c>journal.db-wal</c>) under a size. SQLite starts the log over
/// only when a checkpoint has copied all of it into the database and no reader still uses it; the passive checkpoints
/// the journal runs (they never stall a commit) find neither while writes keep coming or reads overlap (vtsctl,
/// queries, recoveries), and the log grew by every commit: 300 MB for 12,000 events in the test that guards this.
/// Past the limit, the writer's own thread (so no commit can come between) copies the log in, waits a moment for the
/// last readers of the old log, and truncates it.</summary>
/// <remarks>It costs the commit that finds the log too large one checkpoint (a sync of the database), once per
/// <see cref="DefaultLimit"/> of log at most; if readers keep the log past <see cref="ReadersWait"/>, the next commit
/// tries again.</remarks>
internal sealed class WriteAheadLog(string database, long limit)
{
    /// <summary>The default <c>wal-size-limit</c> of the journal plugin's section.</summary>
    public const long DefaultLimit = 64L << 20;

    /// <summary>How long the truncating checkpoint waits for readers still on the old log; commits wait that long too.</summary>
    private static readonly TimeSpan ReadersWait = TimeSpan.FromMilliseconds(250);

    private readonly FileInfo? _file = IsFile(database) ? new FileInfo(database + "-wal") : null;

    /// <summary>Whether the log has grown past its limit; a stat of the file, on the writer's thread.</summary>
    public bool Oversized
    {
        get
        {
            if (_file is null) return false;
            _file.Refresh();
            return _file.Exists && _file.Length > limit;
        }
    }

    /// <summary>Copies the log into the database and truncates it, unless readers keep it past a short wait (then the
    /// next commit tries again). On the writer's thread, with its connection.</summary>
    public void StartOver(SqliteConnection connection)
    {
        try
        {
            using (var wait = connection.CreateCommand())
            {
                wait.CommandText = $"PRAGMA busy_timeout = {(int)ReadersWait.TotalMilliseconds}";
                wait.ExecuteNonQuery();
            }
            using var checkpoint = connection.CreateCommand();
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
            checkpoint.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // Busy: the log only grows meanwhile, and the next commit asks again. The commit itself stands.
        }
    }

    private static bool IsFile(string database) =>
        database.Length > 0 && database != ":memory:" && !database.StartsWith("file::memory:", StringComparison.Ordinal);
}
