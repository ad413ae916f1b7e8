using Npgsql;

namespace Vts.AutoCopy.Persistence;

/// <summary>Creates the journal's tables on PostgreSQL before the actor system starts. The plugin's own auto-initialize
/// races when several nodes start together on an empty database (PostgreSQL's CREATE TABLE IF NOT EXISTS can still
/// collide in its catalog; the losing journal fails and restarts), so the statements (PostgreSqlSchema.sql, the
/// plugin's own) run here, one node at a time under an advisory lock, and the plugin's is off.</summary>
public static class PostgreSqlSchema
{
    public const string ProviderName = "PostgreSQL.15";

    /// <summary>Any fixed number: the lock only has to mean "the VtsActors schema" to every node.</summary>
    private const long AdvisoryLock = 0x5654_5341_4354; // "VTSACT"

    /// <summary>The journal's identity: a random id made once, with its tables. A node's state dir remembers it (see
    /// Journal.Remember), so a database dropped and made again, or another one named, is never taken for the journal it
    /// wrote, even after a new node has created the tables there. Null where there is none yet.</summary>
    public static async Task<string?> JournalIdAsync(string connectionString, CancellationToken cancellation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('vts_journal_id') IS NOT NULL", connection))
            if (!(bool)(await exists.ExecuteScalarAsync(cancellation))!) return null;
        await using var query = new NpgsqlCommand("SELECT id FROM vts_journal_id LIMIT 1", connection);
        return await query.ExecuteScalarAsync(cancellation) as string;
    }

    /// <summary>Ours, not the plugin's: made once, under the same lock as the tables.</summary>
    private const string JournalId = """
        CREATE TABLE IF NOT EXISTS vts_journal_id (id TEXT NOT NULL);
        INSERT INTO vts_journal_id (id) SELECT gen_random_uuid()::text WHERE NOT EXISTS (SELECT 1 FROM vts_journal_id);
        """;

    public static async Task CreateAsync(string connectionString, CancellationToken cancellation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLock})", connection))
            await take.ExecuteNonQueryAsync(cancellation);
        try
        {
            await using var create = new NpgsqlCommand(Statements + JournalId, connection);
            await create.ExecuteNonQueryAsync(cancellation);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({AdvisoryLock})", connection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private static string Statements
    {
        get
        {
            using var stream = typeof(PostgreSqlSchema).Assembly.GetManifestResourceStream("Vts.AutoCopy.Persistence.PostgreSqlSchema.sql")
                ?? throw new InvalidOperationException("PostgreSqlSchema.sql is not embedded");
            return new StreamReader(stream).ReadToEnd();
        }
    }
}
