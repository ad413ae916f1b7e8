using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Microsoft.Data.Sqlite;

namespace Vts.AutoCopy.Hosting;

/// <summary>The three reads of every recovery (latest snapshot, highest sequence number, replay), as plain prepared
/// SQLite statements on the plugin's own tables. Through Akka.Persistence.Sql each one cost far more CPU than the
/// query itself: linq2db builds the statement anew every time and every replay materializes a stream. After a restart
/// thousands of tapes recover at once and those costs, not SQLite, bounded how fast they came back.
/// Rows are read and turned into messages exactly as the plugin does (same columns, same serializers), and the
/// plugin still does all the writing. Used only for the embedded SQLite journal; any other database keeps the
/// plugin's own reads.</summary>
internal sealed class SqliteRecoveryReads
{
    private readonly string _connectionString;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly string _highest;
    private readonly string _replay;
    private readonly string _latestSnapshot;

    private SqliteRecoveryReads(string connectionString, Akka.Serialization.Serialization serialization,
        string highest, string replay, string latestSnapshot)
    {
        _connectionString = connectionString;
        _serialization = serialization;
        _highest = highest;
        _replay = replay;
        _latestSnapshot = latestSnapshot;
    }

    /// <summary>For a journal or snapshot store plugin section; null unless it is Microsoft.Data.Sqlite.</summary>
    public static SqliteRecoveryReads? For(Akka.Configuration.Config pluginConfig, ActorSystem system)
    {
        if (pluginConfig.GetString("provider-name") is not { } provider || !provider.StartsWith("SQLite.MS", StringComparison.Ordinal))
            return null;
        var journal = new JournalConfig(pluginConfig.WithFallback(SqlPersistence.DefaultJournalConfiguration)).TableConfig.EventJournalTable;
        var snapshot = new SnapshotConfig(pluginConfig.WithFallback(SqlPersistence.DefaultSnapshotConfiguration)).TableConfig.SnapshotTable;
        var j = journal.ColumnNames;
        var s = snapshot.ColumnNames;
        var writerUuid = journal.UseWriterUuidColumn ? $"[{j.WriterUuid}]" : "NULL";
        return new SqliteRecoveryReads(
            pluginConfig.GetString("connection-string"),
            system.Serialization,
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
        if (serializerId is { } id) return _serialization.Deserialize(bytes, id, manifest);
        var type = Type.GetType(manifest, throwOnError: true)!;
        return _serialization.FindSerializerForType(type).FromBinary(bytes, type);
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
