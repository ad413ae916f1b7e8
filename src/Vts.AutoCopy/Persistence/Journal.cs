using Akka.Configuration;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Persistence;

/// <summary>What the journal needs before the actor system opens it.</summary>
public static class Journal
{
    private static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(60);

    /// <summary>In the state dir of a node that has journaled on PostgreSQL: its database is then expected to hold the
    /// journal, so one that was dropped or recreated empty stops the node instead of a start that forgets every copy.</summary>
    public const string PostgreSqlMarkerName = "journal.postgresql.marker";

    /// <summary>After the node has run on its journal: the state dir remembers that it holds one (SQLite: journal.db;
    /// PostgreSQL: the configured database).</summary>
    public static void Remember(JournalSettings journal, string stateDir)
    {
        if (journal.Provider == JournalProvider.Sqlite)
        {
            EmbeddedJournal.Remember(stateDir);
            return;
        }
        var marker = Path.Combine(stateDir, PostgreSqlMarkerName);
        if (File.Exists(marker)) return;
        File.WriteAllText(marker,
            $"journal first used on PostgreSQL {DateTimeOffset.UtcNow:u}\n" +
            "This file tells vts-node that the database in vts.journal.connection-string holds its journal: if that database\n" +
            "has no journal at a later start, the node refuses to start rather than forget every copy owed. Delete it only\n" +
            "to start afresh on purpose.\n");
    }

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
                        if (File.Exists(marker) && !await PostgreSqlSchema.ExistsAsync(journal.ConnectionString!, attempt.Token))
                            throw new JournalUnusableException(
                                "the PostgreSQL database in vts.journal.connection-string has no journal, but this node has " +
                                $"journaled there before ({marker}): it was dropped or recreated, or the connection string names " +
                                "another database. Restore the database from a backup, or correct the connection string; to " +
                                $"start this cluster with an empty journal on purpose, delete {marker} (every copy owed would be forgotten).");
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
