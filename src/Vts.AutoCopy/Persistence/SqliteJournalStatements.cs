using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Util;
using Microsoft.Data.Sqlite;

namespace Vts.AutoCopy.Persistence;

/// <summary>The journal's hot statements as plain prepared SQLite commands on Akka.Persistence.Sql's own tables: the
/// three reads of every recovery (latest snapshot, highest sequence number, replay) and the insert of a group of
/// events. Through the plugin each cost far more CPU than the statement itself: linq2db builds the SQL anew every
/// time, every replay materializes a stream and every write passes through a stream queue. After a restart thousands of
/// tapes recover at once, and a burst of EMS events for idle tapes starts thousands of actors: those costs, not
/// SQLite, bounded both. Rows are written and read exactly as the plugin does (same columns, same serializers and
/// manifests), so the plugin's queries, deletes and `vtsctl journal` see no difference. Used only for the embedded
/// SQLite journal; any other database keeps the plugin's own statements.</summary>
internal sealed class SqliteJournalStatements
{
    private readonly string _connectionString;
    private readonly ExtendedActorSystem _system;
    private readonly string? _defaultSerializer;
    private readonly bool _writerUuid;
    private readonly string _insert;
    private readonly string _insertTag;
    private readonly string _highest;
    private readonly string _replay;
    private readonly string _latestSnapshot;

    private SqliteJournalStatements(string connectionString, ExtendedActorSystem system, string? defaultSerializer, bool writerUuid,
        string insert, string insertTag, string highest, string replay, string latestSnapshot)
    {
        _connectionString = connectionString;
        _system = system;
        _defaultSerializer = defaultSerializer;
        _writerUuid = writerUuid;
        _insert = insert;
        _insertTag = insertTag;
        _highest = highest;
        _replay = replay;
        _latestSnapshot = latestSnapshot;
    }

    private Akka.Serialization.Serialization Serialization => _system.Serialization;

    /// <summary>For a journal or snapshot store plugin section; null unless it is Microsoft.Data.Sqlite with the plugin's
    /// default table layout.</summary>
    public static SqliteJournalStatements? For(Akka.Configuration.Config pluginConfig, ActorSystem system)
    {
        if (pluginConfig.GetString("provider-name") is not { } provider || !provider.StartsWith("SQLite.MS", StringComparison.Ordinal))
            return null;
        var journalConfig = new JournalConfig(pluginConfig.WithFallback(SqlPersistence.DefaultJournalConfiguration));
        // Our statements know the plugin's default layout only: tags in their own table, no schema, no metadata table
        // taking part in the highest sequence number. Any other layout stays with the plugin.
        var snapshotConfig = new SnapshotConfig(pluginConfig.WithFallback(SqlPersistence.DefaultSnapshotConfiguration));
        if (journalConfig.PluginConfig.TagMode != TagMode.TagTable || journalConfig.DaoConfig.SqlCommonCompatibilityMode
            || journalConfig.TableConfig.SchemaName is { Length: > 0 } || snapshotConfig.TableConfig.SchemaName is { Length: > 0 })
            return null;
        var journal = journalConfig.TableConfig.EventJournalTable;
        var snapshot = snapshotConfig.TableConfig.SnapshotTable;
        var j = journal.ColumnNames;
        var s = snapshot.ColumnNames;
        var writerUuid = journal.UseWriterUuidColumn ? $"[{j.WriterUuid}]" : "NULL";
        var tags = journalConfig.TableConfig.TagTable;
        var t = tags.ColumnNames;
        return new SqliteJournalStatements(
            pluginConfig.GetString("connection-string"),
            (ExtendedActorSystem)system,
            journalConfig.DefaultSerializer,
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

    /// <summary>All the writes in one transaction. Answers, as the plugin does, one entry per atomic write: null, or
    /// why that write was rejected (its events could not be serialized); throws if the transaction failed.</summary>
    public IImmutableList<Exception?> Write(IReadOnlyList<AtomicWrite> writes)
    {
        var now = DateTime.UtcNow.Ticks;
        var rows = new List<Row>();
        var rejections = new Exception?[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            try
            {
                rows.AddRange(((IEnumerable<IPersistentRepresentation>)writes[i].Payload).Select(Serialize).ToList());
            }
            catch (Exception e)
            {
                rejections[i] = e;
            }
        }
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
            created.Value = row.Event.Timestamp == 0 ? now : row.Event.Timestamp;
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
        CheckpointSoon();
        return rejections.ToImmutableList();
    }

    /// <summary>When the last checkpoint was asked for; read and written on the writer's thread only.</summary>
    private long _lastCheckpoint;
    private int _checkpointing;

    /// <summary>SQLite copies the write-ahead log into the database (and syncs it) in whichever commit finds the log
    /// past 1,000 pages: that commit, and every ack waiting on it, stalled for tens of milliseconds, which set the
    /// ack latency's p99. The writer's connections do not checkpoint; about once a second a reader thread does,
    /// passively, which never blocks the writer.</summary>
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

    private sealed record Row(IPersistentRepresentation Event, byte[] Message, string Manifest, int Identifier, IImmutableSet<string> Tags);

    /// <summary>A tagged event's tags, each a row pointing at the event's ordering (the row just inserted). Prepared
    /// once per transaction, on its first tagged event.</summary>
    private sealed class TagInserts(SqliteConnection connection, string insertTag) : IDisposable
    {
        private SqliteCommand? _ordering;
        private SqliteCommand? _insert;

        public void Insert(Row row)
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

    /// <summary>As the plugin serializes an event: its serializer's id, and the manifest that serializer asks for.</summary>
    private Row Serialize(IPersistentRepresentation e)
    {
        var (payload, tags) = e.Payload is Tagged tagged ? (tagged.Payload, tagged.Tags) : (e.Payload, ImmutableHashSet<string>.Empty);
        var serializer = Serialization.FindSerializerForType(payload.GetType(), _defaultSerializer);
        var manifest = serializer switch
        {
            Akka.Serialization.SerializerWithStringManifest withManifest => withManifest.Manifest(payload),
            { IncludeManifest: true } => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        var message = Akka.Serialization.Serialization.WithTransport(_system, () => serializer.ToBinary(payload));
        return new Row(e, message, manifest, serializer.Identifier, tags);
    }

    public long HighestSequenceNr(string persistenceId, long fromSequenceNr)
    {
        using var connection = Open();
        using var command = Command(connection, _highest);
        command.Parameters.AddWithValue("$id", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        return command.ExecuteScalar() is long highest ? highest : 0;
    }

    public void Replay(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> replayed)
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
            var manifest = row.IsDBNull(4) ? "" : row.GetString(4);
            replayed(new Persistent(
                payload: Payload((byte[])row[2], row.IsDBNull(3) ? null : row.GetInt32(3), manifest),
                sequenceNr: row.GetInt64(0),
                persistenceId: persistenceId,
                manifest: manifest,
                isDeleted: false,
                sender: ActorRefs.NoSender,
                writerGuid: row.IsDBNull(5) ? null : row.GetString(5),
                timestamp: row.GetInt64(1)));
        }
    }

    public SelectedSnapshot? LatestSnapshot(string persistenceId, SnapshotSelectionCriteria criteria)
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
        var snapshot = Payload((byte[])row[2], row.IsDBNull(4) ? null : row.GetInt32(4), row.IsDBNull(3) ? "" : row.GetString(3));
        return new SelectedSnapshot(new SnapshotMetadata(persistenceId, row.GetInt64(0), new DateTime(row.GetInt64(1))), snapshot);
    }

    /// <summary>As the plugin reads a payload: by the serializer id it was written with, or, for rows written before
    /// ids were kept, by the type named in the manifest.</summary>
    private object Payload(byte[] bytes, int? serializerId, string manifest)
    {
        if (serializerId is { } id) return Serialization.Deserialize(bytes, id, manifest);
        var type = Type.GetType(manifest, throwOnError: true)!;
        return Akka.Serialization.Serialization.WithTransport(_system,
            () => Serialization.FindSerializerForType(type, _defaultSerializer).FromBinary(bytes, type));
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
