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

    /// <summary>Whether the database holds the journal's table (a node that journaled there before expects it).</summary>
    public static async Task<bool> ExistsAsync(string connectionString, CancellationToken cancellation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using var query = new NpgsqlCommand("SELECT to_regclass('journal') IS NOT NULL", connection);
        return (bool)(await query.ExecuteScalarAsync(cancellation))!;
    }

    public static async Task CreateAsync(string connectionString, CancellationToken cancellation)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({AdvisoryLock})", connection))
            await take.ExecuteNonQueryAsync(cancellation);
        try
        {
            await using var create = new NpgsqlCommand(Statements, connection);
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
