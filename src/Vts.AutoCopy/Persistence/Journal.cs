using Akka.Configuration;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Persistence;

/// <summary>What the journal needs before the actor system opens it.</summary>
public static class Journal
{
    private static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(60);

    /// <summary>In the state dir of a node that has journaled on PostgreSQL: the journal's id there (see
    /// <see cref="PostgreSqlSchema.JournalIdAsync"/>). A database without that journal (dropped, made again, another one
    /// named) then stops the node instead of a start that forgets every copy owed.</summary>
    public const string PostgreSqlMarkerName = "journal.postgresql.marker";

    private const string MarkerIdPrefix = "journal id ";

    /// <summary>After the node has run on its journal: the state dir remembers that it holds one (SQLite: journal.db;
    /// PostgreSQL: the configured database's journal, by its id).</summary>
    public static async Task RememberAsync(JournalSettings journal, string stateDir, CancellationToken cancellation)
    {
        if (journal.Provider == JournalProvider.Sqlite)
        {
            EmbeddedJournal.Remember(stateDir);
            return;
        }
        var marker = Path.Combine(stateDir, PostgreSqlMarkerName);
        if (File.Exists(marker)) return;
        var id = await PostgreSqlSchema.JournalIdAsync(journal.ConnectionString!, cancellation);
        await File.WriteAllTextAsync(marker,
            $"{MarkerIdPrefix}{id}\n" +
            $"first used on PostgreSQL {DateTimeOffset.UtcNow:u}\n" +
            "This file tells vts-node which journal the database in vts.journal.connection-string holds: if that database\n" +
            "holds no journal, or another one, at a later start, the node refuses to start rather than forget every copy owed.\n" +
            "Delete it only to start afresh on purpose.\n", cancellation);
    }

    /// <summary>What the marker says the journal's id is; null for a marker without one.</summary>
    private static string? RememberedId(string marker) =>
        File.ReadLines(marker).FirstOrDefault(l => l.StartsWith(MarkerIdPrefix, StringComparison.Ordinal))?[MarkerIdPrefix.Length..].Trim();

    /// <summary>SQLite: the file checked (see <see cref="EmbeddedJournal.Check"/>) and in WAL mode. PostgreSQL: the
    /// tables, once; a database not reachable yet (the cluster and its database starting together) is waited for, up to
    /// a minute.</summary>
    /// <exception cref="JournalUnusableException">the SQLite journal is gone, emptied, damaged or unreadable; the
    /// PostgreSQL database has no journal though this node journaled there before.</exception>
    public static async Task PrepareAsync(JournalSettings journal, Config akka, string stateDir)
    {
        switch (journal.Provider)
        {
            case JournalProvider.Sqlite:
                EmbeddedJournal.Check(stateDir);
                EmbeddedJournal.EnableWriteAheadLog(akka);
                break;
            case JournalProvider.PostgreSql:
                var deadline = DateTime.UtcNow + ReachTimeout;
                while (true)
                {
                    try
                    {
                        using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                        var marker = Path.Combine(stateDir, PostgreSqlMarkerName);
                        if (File.Exists(marker) && RememberedId(marker) is { } remembered
                            && await PostgreSqlSchema.JournalIdAsync(journal.ConnectionString!, attempt.Token) is var found && found != remembered)
                            throw new JournalUnusableException(
                                $"the PostgreSQL database in vts.journal.connection-string {(found is null ? "has no journal" : "holds another journal")}" +
                                $", but this node journaled there before (journal {remembered}, {marker}): it was dropped or made again, " +
                                "or the connection string names another database. Restore the database from a backup, or correct the " +
                                $"connection string; to start with that database's journal on purpose, delete {marker} (every copy owed " +
                                "in the other journal would be forgotten).");
                        await PostgreSqlSchema.CreateAsync(journal.ConnectionString!, attempt.Token);
                        return;
                    }
                    catch (Npgsql.PostgresException e) when (!e.IsTransient)
                    {
                        throw new ConfigurationInvalidException($"vts.journal: PostgreSQL refused the journal's tables: {e.MessageText}");
                    }
                    catch (Exception e) when (e is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException)
                    {
                        if (DateTime.UtcNow > deadline)
                            throw new ConfigurationInvalidException($"vts.journal: PostgreSQL not reachable within {ReachTimeout.TotalSeconds:0} s: {e.Message}");
                        Console.Error.WriteLine($"vts-node: journal database not reachable yet ({e.Message}); trying again");
                        await Task.Delay(TimeSpan.FromSeconds(2));
                    }
                }
        }
    }
}
