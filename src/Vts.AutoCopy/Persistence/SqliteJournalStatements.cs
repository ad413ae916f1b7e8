using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Microsoft.Data.Sqlite;

namespace Vts.AutoCopy.Persistence;

/// <summary><see cref="IJournalStatements"/> as plain prepared SQLite commands on Akka.Persistence.Sql's own tables,
/// run on <see cref="SqliteThreads"/> (Microsoft.Data.Sqlite is synchronous). Used for the embedded SQLite journal.</summary>
internal sealed class SqliteJournalStatements : IJournalStatements
{
    private readonly string _connectionString;
    private readonly JournalRows _rows;
    private readonly bool _writerUuid;
    private readonly string _insert;
    private readonly string _insertTag;
    private readonly string _highest;
    private readonly string _replay;
    private readonly string _latestSnapshot;
    private readonly WriteAheadLog _log;

    private SqliteJournalStatements(string connectionString, long walSizeLimit, JournalRows rows, bool writerUuid,
        string insert, string insertTag, string highest, string replay, string latestSnapshot)
    {
        _connectionString = connectionString;
        _log = new WriteAheadLog(new SqliteConnectionStringBuilder(connectionString).DataSource, walSizeLimit);
        _rows = rows;
        _writerUuid = writerUuid;
        _insert = insert;
        _insertTag = insertTag;
        _highest = highest;
        _replay = replay;
        _latestSnapshot = latestSnapshot;
    }

    /// <summary>For a journal or snapshot store plugin section; null unless it is Microsoft.Data.Sqlite with the plugin's
    /// default table layout.</summary>
    public static SqliteJournalStatements? For(Akka.Configuration.Config pluginConfig, ActorSystem system)
    {
        if (pluginConfig.GetString("provider-name") is not { } provider || !provider.StartsWith("SQLite.MS", StringComparison.Ordinal))
            return null;
        if (JournalRows.KnownLayout(pluginConfig) is not var (journalConfig, snapshotConfig)) return null;
        var journal = journalConfig.TableConfig.EventJournalTable;
        var snapshot = snapshotConfig.TableConfig.SnapshotTable;
        var j = journal.ColumnNames;
        var s = snapshot.ColumnNames;
        var writerUuid = journal.UseWriterUuidColumn ? $"[{j.WriterUuid}]" : "NULL";
        var tags = journalConfig.TableConfig.TagTable;
        var t = tags.ColumnNames;
        return new SqliteJournalStatements(
            pluginConfig.GetString("connection-string"),
            pluginConfig.GetByteSize("wal-size-limit", WriteAheadLog.DefaultLimit) ?? WriteAheadLog.DefaultLimit,
            new JournalRows((ExtendedActorSystem)system, journalConfig.DefaultSerializer),
            journal.UseWriterUuidColumn,
            insert: $"""
                INSERT INTO [{journal.Name}] ([{j.Created}], [{j.Deleted}], [{j.PersistenceId}], [{j.SequenceNumber}], [{j.Message}], [{j.Manifest}], [{j.Identifier}]{(journal.UseWriterUuidColumn ? $", [{j.WriterUuid}]" : "")})
                VALUES ($created, 0, $id, $seq, $message, $manifest, $identifier{(journal.UseWriterUuidColumn ? ", $writer" : "")})
                """,
            insertTag: $"INSERT INTO [{tags.Name}] ([{t.OrderingId}], [{t.Tag}], [{t.SequenceNumber}], [{t.PersistenceId}]) VALUES ($ordering, $tag, $seq, $id)",
            highest: $"SELECT MAX([{j.SequenceNumber}]) FROM [{journal.Name}] WHERE [{j.PersistenceId}] = $id AND [{j.SequenceNumber}] > $from",
            replay: $"""
                SELECT [{j.SequenceNumber}], [{j.Created}], [{j.Message}], [{j.Identifier}], [{j.Manifest}], {writerUuid}
                FROM [{journal.Name}]
                WHERE [{j.PersistenceId}] = $id AND [{j.SequenceNumber}] >= $from AND [{j.SequenceNumber}] <= $to AND [{j.Deleted}] = 0
                ORDER BY [{j.SequenceNumber}] LIMIT $max
                """,
            latestSnapshot: $"""
                SELECT [{s.SequenceNumber}], [{s.Created}], [{s.Snapshot}], [{s.Manifest}], [{s.SerializerId}]
                FROM [{snapshot.Name}]
                WHERE [{s.PersistenceId}] = $id AND [{s.SequenceNumber}] <= $maxSeq AND [{s.Created}] <= $maxCreated
                  AND [{s.SequenceNumber}] >= $minSeq AND [{s.Created}] >= $minCreated
                ORDER BY [{s.SequenceNumber}] DESC LIMIT 1
                """);
    }

    /// <summary>One group at a time, on the writer's own thread: SQLite takes one writer anyway.</summary>
    public Task<IImmutableList<Exception?>> Write(IReadOnlyList<AtomicWrite> writes) => SqliteThreads.Writer.Run(() => WriteNow(writes));

    public Task<long> HighestSequenceNr(string persistenceId, long fromSequenceNr) =>
        SqliteThreads.Readers.Run(() => HighestSequenceNrNow(persistenceId, fromSequenceNr));

    public Task Replay(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> replayed) =>
        SqliteThreads.Readers.Run(() => ReplayNow(persistenceId, fromSequenceNr, toSequenceNr, max, replayed));

    public Task<SelectedSnapshot?> LatestSnapshot(string persistenceId, SnapshotSelectionCriteria criteria) =>
        SqliteThreads.Readers.Run(() => LatestSnapshotNow(persistenceId, criteria));

    private IImmutableList<Exception?> WriteNow(IReadOnlyList<AtomicWrite> writes)
    {
        var now = DateTime.UtcNow.Ticks;
        var (rows, rejections) = _rows.Serialize(writes);
        if (rows.Count == 0) return rejections.ToImmutableList();

        using var connection = Open();
        using (var noCheckpoint = Command(connection, "PRAGMA wal_autocheckpoint = 0")) noCheckpoint.ExecuteNonQuery();
        using var transaction = connection.BeginTransaction(deferred: false);
        using var insert = Command(connection, _insert);
        var created = insert.Parameters.Add("$created", SqliteType.Integer);
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
        var message = insert.Parameters.Add("$message", SqliteType.Blob);
        var manifest = insert.Parameters.Add("$manifest", SqliteType.Text);
        var identifier = insert.Parameters.Add("$identifier", SqliteType.Integer);
        var writer = _writerUuid ? insert.Parameters.Add("$writer", SqliteType.Text) : null;
        insert.Prepare();
        using var tagInserts = new TagInserts(connection, _insertTag);
        foreach (var row in rows)
        {
            created.Value = row.Created(now);
            id.Value = row.Event.PersistenceId;
            seq.Value = row.Event.SequenceNr;
            message.Value = row.Message;
            manifest.Value = row.Manifest;
            identifier.Value = row.Identifier;
            if (writer is not null) writer.Value = (object?)row.Event.WriterGuid ?? DBNull.Value;
            insert.ExecuteNonQuery();
            if (row.Tags.Count > 0) tagInserts.Insert(row);
        }
        transaction.Commit();
        if (_log.Oversized) _log.StartOver(connection);
        else CheckpointSoon();
        return rejections.ToImmutableList();
    }

    /// <summary>When the last checkpoint was asked for; read and written on the writer's thread only.</summary>
    private long _lastCheckpoint;
    private int _checkpointing;

    /// <summary>SQLite copies the write-ahead log into the database (and syncs it) in whichever commit finds the log
    /// past 1,000 pages: that commit, and every ack waiting on it, stalled for tens of milliseconds, which set the
    /// ack latency's p99. The writer's connections do not checkpoint; about once a second a reader thread does,
    /// passively, which never blocks the writer. A passive checkpoint never lets the log start over while writes
    /// keep coming or readers overlap: <see cref="WriteAheadLog"/> bounds it.</summary>
    private void CheckpointSoon()
    {
        if (Environment.TickCount64 - _lastCheckpoint < 1000) return;
        if (Interlocked.Exchange(ref _checkpointing, 1) == 1) return;
        _lastCheckpoint = Environment.TickCount64;
        SqliteThreads.Readers.Run(() =>
        {
            try
            {
                using var connection = Open();
                using var checkpoint = Command(connection, "PRAGMA wal_checkpoint(PASSIVE)");
                checkpoint.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // Busy or failed: the next write asks again; the log only grows meanwhile.
            }
            finally
            {
                Interlocked.Exchange(ref _checkpointing, 0);
            }
        });
    }

    /// <summary>A tagged event's tags, each a row pointing at the event's ordering (the row just inserted). Prepared
    /// once per transaction, on its first tagged event.</summary>
    private sealed class TagInserts(SqliteConnection connection, string insertTag) : IDisposable
    {
        private SqliteCommand? _ordering;
        private SqliteCommand? _insert;

        public void Insert(JournalRow row)
        {
            if (_insert is null)
            {
                _ordering = Command(connection, "SELECT last_insert_rowid()");
                _insert = Command(connection, insertTag);
                _insert.Parameters.Add("$ordering", SqliteType.Integer);
                _insert.Parameters.Add("$tag", SqliteType.Text);
                _insert.Parameters.Add("$seq", SqliteType.Integer);
                _insert.Parameters.Add("$id", SqliteType.Text);
                _insert.Prepare();
            }
            _insert.Parameters["$ordering"].Value = (long)_ordering!.ExecuteScalar()!;
            _insert.Parameters["$seq"].Value = row.Event.SequenceNr;
            _insert.Parameters["$id"].Value = row.Event.PersistenceId;
            foreach (var tag in row.Tags)
            {
                _insert.Parameters["$tag"].Value = tag;
                _insert.ExecuteNonQuery();
            }
        }

        public void Dispose()
        {
            _ordering?.Dispose();
            _insert?.Dispose();
        }
    }

    private long HighestSequenceNrNow(string persistenceId, long fromSequenceNr)
    {
        using var connection = Open();
        using var command = Command(connection, _highest);
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        return command.ExecuteScalar() is long highest ? highest : 0;
    }

    private void ReplayNow(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> replayed)
    {
        if (max <= 0) return;
        using var connection = Open();
        using var command = Command(connection, _replay);
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.Parameters.AddWithValue("$max", max);
        using var row = command.ExecuteReader();
        while (row.Read())
        {
            replayed(_rows.Event(persistenceId, sequenceNr: row.GetInt64(0), created: row.GetInt64(1), message: (byte[])row[2],
                serializerId: row.IsDBNull(3) ? null : row.GetInt32(3), manifest: row.IsDBNull(4) ? "" : row.GetString(4),
                writer: row.IsDBNull(5) ? null : row.GetString(5)));
        }
    }

    private SelectedSnapshot? LatestSnapshotNow(string persistenceId, SnapshotSelectionCriteria criteria)
    {
        using var connection = Open();
        using var command = Command(connection, _latestSnapshot);
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$maxSeq", criteria.MaxSequenceNr);
        command.Parameters.AddWithValue("$maxCreated", criteria.MaxTimeStamp.Ticks);
        command.Parameters.AddWithValue("$minSeq", criteria.MinSequenceNr);
        command.Parameters.AddWithValue("$minCreated", criteria.MinTimestamp?.Ticks ?? 0);
        using var row = command.ExecuteReader();
        if (!row.Read()) return null;
        var snapshot = _rows.Payload((byte[])row[2], row.IsDBNull(4) ? null : row.GetInt32(4), row.IsDBNull(3) ? "" : row.GetString(3));
        return new SelectedSnapshot(new SnapshotMetadata(persistenceId, row.GetInt64(0), new DateTime(row.GetInt64(1))), snapshot);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }
}
