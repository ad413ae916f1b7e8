using Akka.Configuration;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Persistence;

/// <summary>What the journal needs before the actor system opens it.</summary>
public static class Journal
{
    private static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(60);

    /// <summary>SQLite: the file checked (see <see cref="EmbeddedJournal.Check"/>) and in WAL mode. PostgreSQL: the
    /// tables, once; a database not reachable yet (the cluster and its database starting together) is waited for, up to
    /// a minute.</summary>
    /// <exception cref="JournalUnusableException">the SQLite journal is gone, emptied, damaged or unreadable.</exception>
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
