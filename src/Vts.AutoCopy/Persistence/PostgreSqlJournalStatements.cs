using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace Vts.AutoCopy.Persistence;

/// <summary><see cref="IJournalStatements"/> on PostgreSQL, through one Npgsql data source with automatic preparation.
/// A group of events is one statement whatever its size (the rows go as arrays and <c>unnest</c> into the table). A
/// recovery costs two reads, each shared with every recovery asking at the same time (<see cref="CrowdReader{TRequest,TResult}"/>):
/// its latest snapshot, and its events (the query for the highest sequence number reads the rows after it as well, and
/// the replay that Akka asks for next takes them from memory). Through the plugin, a burst of EMS events for tapes not
/// in memory (a recovery and two writes each) ran at 1,800/s on one node.</summary>
internal sealed class PostgreSqlJournalStatements : IJournalStatements
{
    /// <summary>Events read ahead of a replay are kept for this many persistence ids at most: a replay Akka does not ask
    /// for after all (a recovery that stops below them) leaves its rows behind.</summary>
    private const int ReadAheadKept = 10_000;
    /// <summary>A longer history is replayed by a query of its own, not held between the two calls.</summary>
    private const int ReadAheadRows = 1_000;

    /// <summary>Data sources by connection string: the journal and the snapshot store of a node share one pool.</summary>
    private static readonly ConcurrentDictionary<string, NpgsqlDataSource> DataSources = new();

    private readonly NpgsqlDataSource _database;
    private readonly JournalRows _rows;
    private readonly bool _writerUuid;
    private readonly Statements _sql;
    private readonly ConcurrentDictionary<string, ReadAhead> _readAhead = new();
    private readonly CrowdReader<(string PersistenceId, long After), List<StoredRow>> _after;
    private readonly CrowdReader<(string PersistenceId, SnapshotSelectionCriteria Criteria), StoredSnapshot?> _snapshots;

    private sealed record Statements(string Insert, string InsertReturning, string InsertTags, string AfterMany, string Highest, string Replay,
        string LatestSnapshots);

    /// <summary>The rows of one persistence id after <paramref name="After"/>, deleted ones included (they count for the
    /// highest sequence number, never for a replay).</summary>
    private sealed record ReadAhead(long After, List<StoredRow> Rows);

    /// <summary>A snapshot's row as stored: read for a crowd, turned into a snapshot by each caller, so that one that
    /// cannot be read fails only its own recovery.</summary>
    private sealed record StoredSnapshot(long SequenceNr, long Created, byte[] Payload, string Manifest, int? SerializerId);

    private sealed record StoredRow(long SequenceNr, long Created, byte[] Message, int? Identifier, string Manifest, string? Writer, bool Deleted)
    {
        /// <summary>The row's columns as the statements select them, from column <paramref name="at"/> on.</summary>
        public static StoredRow From(NpgsqlDataReader row, int at = 0) =>
            new(row.GetInt64(at), row.GetInt64(at + 1), (byte[])row[at + 2], row.IsDBNull(at + 3) ? null : row.GetInt32(at + 3),
                row.IsDBNull(at + 4) ? "" : row.GetString(at + 4), row.IsDBNull(at + 5) ? null : row.GetString(at + 5), row.GetBoolean(at + 6));
    }

    private PostgreSqlJournalStatements(NpgsqlDataSource database, JournalRows rows, bool writerUuid, Statements sql)
    {
        _database = database;
        _rows = rows;
        _writerUuid = writerUuid;
        _sql = sql;
        _after = new CrowdReader<(string, long), List<StoredRow>>(ReadAfter);
        _snapshots = new CrowdReader<(string, SnapshotSelectionCriteria), StoredSnapshot?>(ReadLatestSnapshots);
    }

    /// <summary>For a journal or snapshot store plugin section; null unless it is PostgreSQL with the plugin's default
    /// table layout (the one <see cref="PostgreSqlSchema"/> creates).</summary>
    public static PostgreSqlJournalStatements? For(Akka.Configuration.Config pluginConfig, ActorSystem system)
    {
        if (pluginConfig.GetString("provider-name") is not { } provider || !provider.StartsWith("PostgreSQL", StringComparison.Ordinal))
            return null;
        if (JournalRows.KnownLayout(pluginConfig) is not var (journalConfig, snapshotConfig)) return null;
        var journal = journalConfig.TableConfig.EventJournalTable;
        var snapshot = snapshotConfig.TableConfig.SnapshotTable;
        var tags = journalConfig.TableConfig.TagTable;
        var j = journal.ColumnNames;
        var s = snapshot.ColumnNames;
        var t = tags.ColumnNames;
        var writerUuid = journal.UseWriterUuidColumn;
        var writerSelect = writerUuid ? $"\"{j.WriterUuid}\"" : "NULL";
        var insert = $"""
            INSERT INTO "{journal.Name}" ("{j.Created}", "{j.Deleted}", "{j.PersistenceId}", "{j.SequenceNumber}", "{j.Message}", "{j.Manifest}", "{j.Identifier}"{(writerUuid ? $", \"{j.WriterUuid}\"" : "")})
            SELECT r.created, false, r.id, r.seq, r.message, r.manifest, r.identifier{(writerUuid ? ", r.writer" : "")}
            FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], $6::int[]{(writerUuid ? ", $7::text[]" : "")})
                AS r(created, id, seq, message, manifest, identifier{(writerUuid ? ", writer" : "")})
            """;
        var columns = $"""SELECT "{j.SequenceNumber}", "{j.Created}", "{j.Message}", "{j.Identifier}", "{j.Manifest}", {writerSelect}, "{j.Deleted}" FROM "{journal.Name}" """;
        var sql = new Statements(
            Insert: insert,
            InsertReturning: $"{insert}\nRETURNING \"{j.Ordering}\", \"{j.PersistenceId}\", \"{j.SequenceNumber}\"",
            InsertTags: $"""
                INSERT INTO "{tags.Name}" ("{t.OrderingId}", "{t.Tag}", "{t.SequenceNumber}", "{t.PersistenceId}")
                SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])
                """,
            // For each (persistence id, after) asked, its first rows after that number, tagged with the request's place.
            AfterMany: $"""
                SELECT r.i, x.* FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(id, after, i)
                CROSS JOIN LATERAL (
                    {columns}
                    WHERE "{j.PersistenceId}" = r.id AND "{j.SequenceNumber}" > r.after ORDER BY "{j.SequenceNumber}" LIMIT $3) AS x
                ORDER BY 1, 2
                """,
            Highest: $"""SELECT MAX("{j.SequenceNumber}") FROM "{journal.Name}" WHERE "{j.PersistenceId}" = $1 AND "{j.SequenceNumber}" > $2""",
            Replay: $"""
                {columns}
                WHERE "{j.PersistenceId}" = $1 AND "{j.SequenceNumber}" >= $2 AND "{j.SequenceNumber}" <= $3 AND NOT "{j.Deleted}"
                ORDER BY "{j.SequenceNumber}" LIMIT $4
                """,
            // For each (persistence id, criteria) asked, its latest snapshot within them, tagged with the request's place.
            LatestSnapshots: $"""
                SELECT r.i, x.* FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
                    WITH ORDINALITY AS r(id, max_seq, max_created, min_seq, min_created, i)
                CROSS JOIN LATERAL (
                    SELECT "{s.SequenceNumber}", "{s.Created}", "{s.Snapshot}", "{s.Manifest}", "{s.SerializerId}"
                    FROM "{snapshot.Name}"
                    WHERE "{s.PersistenceId}" = r.id AND "{s.SequenceNumber}" <= r.max_seq AND "{s.Created}" <= r.max_created
                      AND "{s.SequenceNumber}" >= r.min_seq AND "{s.Created}" >= r.min_created
                    ORDER BY "{s.SequenceNumber}" DESC LIMIT 1) AS x
                """);
        return new PostgreSqlJournalStatements(DataSources.GetOrAdd(pluginConfig.GetString("connection-string"), Open),
            new JournalRows((ExtendedActorSystem)system, journalConfig.DefaultSerializer), writerUuid, sql);
    }

    /// <summary>Our statements are prepared on each pooled connection once used (Npgsql's automatic preparation), so
    /// PostgreSQL plans them once per connection, not once per call.</summary>
    private static NpgsqlDataSource Open(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0) builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
        return builder.Build();
    }

    public async Task<IImmutableList<Exception?>> Write(IReadOnlyList<AtomicWrite> writes)
    {
        var now = DateTime.UtcNow.Ticks;
        var (rows, rejections) = _rows.Serialize(writes);
        if (rows.Count == 0) return rejections.ToImmutableList();
        await Guarded(async () =>
        {
            await using var connection = await _database.OpenConnectionAsync();
            if (rows.All(r => r.Tags.Count == 0))
            {
                // One statement: atomic without a transaction of its own.
                await using var insert = Insert(connection, _sql.Insert, rows, now);
                await insert.ExecuteNonQueryAsync();
                return true;
            }
            await using var transaction = await connection.BeginTransactionAsync();
            var orderings = new Dictionary<(string, long), long>();
            await using (var insert = Insert(connection, _sql.InsertReturning, rows, now))
            await using (var inserted = await insert.ExecuteReaderAsync())
                while (await inserted.ReadAsync())
                    orderings[(inserted.GetString(1), inserted.GetInt64(2))] = inserted.GetInt64(0);
            var tagged = rows.SelectMany(r => r.Tags.Select(tag => (Row: r, Tag: tag))).ToList();
            await using (var insertTags = new NpgsqlCommand(_sql.InsertTags, connection, transaction))
            {
                insertTags.Parameters.Add(Array(NpgsqlDbType.Bigint, tagged.Select(x => orderings[(x.Row.Event.PersistenceId, x.Row.Event.SequenceNr)]).ToArray()));
                insertTags.Parameters.Add(Array(NpgsqlDbType.Text, tagged.Select(x => x.Tag).ToArray()));
                insertTags.Parameters.Add(Array(NpgsqlDbType.Bigint, tagged.Select(x => x.Row.Event.SequenceNr).ToArray()));
                insertTags.Parameters.Add(Array(NpgsqlDbType.Text, tagged.Select(x => x.Row.Event.PersistenceId).ToArray()));
                await insertTags.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
            return true;
        });
        return rejections.ToImmutableList();
    }

    private NpgsqlCommand Insert(NpgsqlConnection connection, string sql, List<JournalRow> rows, long now)
    {
        var insert = new NpgsqlCommand(sql, connection);
        insert.Parameters.Add(Array(NpgsqlDbType.Bigint, rows.Select(r => r.Created(now)).ToArray()));
        insert.Parameters.Add(Array(NpgsqlDbType.Text, rows.Select(r => r.Event.PersistenceId).ToArray()));
        insert.Parameters.Add(Array(NpgsqlDbType.Bigint, rows.Select(r => r.Event.SequenceNr).ToArray()));
        insert.Parameters.Add(Array(NpgsqlDbType.Bytea, rows.Select(r => r.Message).ToArray()));
        insert.Parameters.Add(Array(NpgsqlDbType.Text, rows.Select(r => r.Manifest).ToArray()));
        insert.Parameters.Add(Array(NpgsqlDbType.Integer, rows.Select(r => r.Identifier).ToArray()));
        if (_writerUuid) insert.Parameters.Add(Array(NpgsqlDbType.Text, rows.Select(r => r.Event.WriterGuid).ToArray()));
        return insert;
    }

    private static NpgsqlParameter Array(NpgsqlDbType element, object values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | element, Value = values };

    /// <summary>Also reads the rows after <paramref name="fromSequenceNr"/>, which the replay Akka asks for next takes.</summary>
    public async Task<long> HighestSequenceNr(string persistenceId, long fromSequenceNr)
    {
        var rows = await _after.Read((persistenceId, fromSequenceNr));
        _readAhead.TryRemove(persistenceId, out _);
        if (rows.Count == 0) return 0;
        if (rows.Count <= ReadAheadRows)
        {
            if (_readAhead.Count >= ReadAheadKept) _readAhead.Clear();
            _readAhead[persistenceId] = new ReadAhead(fromSequenceNr, rows);
            return rows[^1].SequenceNr;
        }
        // A long history: its highest number alone; the replay reads its range itself.
        return await Guarded(async () =>
        {
            await using var highest = _database.CreateCommand(_sql.Highest);
            highest.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
            highest.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromSequenceNr });
            return await highest.ExecuteScalarAsync() is long found ? found : 0;
        });
    }

    /// <summary>For each request of a crowd, its first rows after the number asked (<see cref="CrowdReader{TRequest,TResult}"/>).</summary>
    private Task<List<StoredRow>[]> ReadAfter(IReadOnlyList<(string PersistenceId, long After)> crowd) =>
        Guarded(async () =>
        {
            await using var read = _database.CreateCommand(_sql.AfterMany);
            read.Parameters.Add(Array(NpgsqlDbType.Text, crowd.Select(r => r.PersistenceId).ToArray()));
            read.Parameters.Add(Array(NpgsqlDbType.Bigint, crowd.Select(r => r.After).ToArray()));
            read.Parameters.Add(new NpgsqlParameter<int> { TypedValue = ReadAheadRows + 1 });
            var byRequest = crowd.Select(_ => new List<StoredRow>()).ToArray();
            await using var row = await read.ExecuteReaderAsync();
            while (await row.ReadAsync())
                byRequest[row.GetInt64(0) - 1].Add(StoredRow.From(row, at: 1)); // column 0: the request's place
            return byRequest;
        });

    public async Task Replay(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> replayed)
    {
        if (max <= 0) return;
        var rows = _readAhead.TryRemove(persistenceId, out var ahead) && fromSequenceNr > ahead.After
            ? ahead.Rows
            : await Guarded(async () =>
            {
                await using var replay = _database.CreateCommand(_sql.Replay);
                replay.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
                replay.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromSequenceNr });
                replay.Parameters.Add(new NpgsqlParameter<long> { TypedValue = toSequenceNr });
                replay.Parameters.Add(new NpgsqlParameter<long> { TypedValue = max });
                return await Read(replay);
            });
        foreach (var row in rows.Where(r => !r.Deleted && r.SequenceNr >= fromSequenceNr && r.SequenceNr <= toSequenceNr).Take((int)Math.Min(max, int.MaxValue)))
            replayed(_rows.Event(persistenceId, row.SequenceNr, row.Created, row.Message, row.Identifier, row.Manifest, row.Writer));
    }

    private static async Task<List<StoredRow>> Read(NpgsqlCommand command)
    {
        var rows = new List<StoredRow>();
        await using var row = await command.ExecuteReaderAsync();
        while (await row.ReadAsync())
            rows.Add(StoredRow.From(row));
        return rows;
    }

    public async Task<SelectedSnapshot?> LatestSnapshot(string persistenceId, SnapshotSelectionCriteria criteria)
    {
        if (await _snapshots.Read((persistenceId, criteria)) is not { } stored) return null;
        var snapshot = _rows.Payload(stored.Payload, stored.SerializerId, stored.Manifest);
        return new SelectedSnapshot(new SnapshotMetadata(persistenceId, stored.SequenceNr, new DateTime(stored.Created)), snapshot);
    }

    private Task<StoredSnapshot?[]> ReadLatestSnapshots(IReadOnlyList<(string PersistenceId, SnapshotSelectionCriteria Criteria)> crowd) =>
        Guarded(async () =>
        {
            await using var latest = _database.CreateCommand(_sql.LatestSnapshots);
            latest.Parameters.Add(Array(NpgsqlDbType.Text, crowd.Select(r => r.PersistenceId).ToArray()));
            latest.Parameters.Add(Array(NpgsqlDbType.Bigint, crowd.Select(r => r.Criteria.MaxSequenceNr).ToArray()));
            latest.Parameters.Add(Array(NpgsqlDbType.Bigint, crowd.Select(r => r.Criteria.MaxTimeStamp.Ticks).ToArray()));
            latest.Parameters.Add(Array(NpgsqlDbType.Bigint, crowd.Select(r => r.Criteria.MinSequenceNr).ToArray()));
            latest.Parameters.Add(Array(NpgsqlDbType.Bigint, crowd.Select(r => r.Criteria.MinTimestamp?.Ticks ?? 0).ToArray()));
            var found = new StoredSnapshot?[crowd.Count];
            await using var row = await latest.ExecuteReaderAsync();
            while (await row.ReadAsync())
                found[(int)row.GetInt64(0) - 1] = new StoredSnapshot(row.GetInt64(1), row.GetInt64(2), (byte[])row[3], // column 0: the request's place
                    row.IsDBNull(4) ? "" : row.GetString(4), row.IsDBNull(5) ? null : row.GetInt32(5));
            return found;
        });

    /// <summary>After PostgreSQL restarted, every idle pooled connection is dead and fails its next statement (57P01,
    /// "terminating connection due to administrator command"). The first such failure empties the pool, so one failed
    /// statement, not one per pooled connection, is the price of an outage.</summary>
    private async Task<T> Guarded<T>(Func<Task<T>> statement)
    {
        try
        {
            return await statement();
        }
        catch (NpgsqlException e) when (e is not PostgresException || e is PostgresException { SqlState: var state } && state.StartsWith("57P"))
        {
            _database.Clear();
            throw;
        }
    }
}
