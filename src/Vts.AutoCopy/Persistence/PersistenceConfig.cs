using Akka.Configuration;
using Akka.Persistence.Sql;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Persistence;

/// <summary>The journal, snapshot store and read journal (<c>vtsctl journal</c>) for <c>vts.journal</c>: Akka.Persistence.Sql
/// on one SQLite file (one node), or on a PostgreSQL database every node of a cluster shares. Sharding's remembered
/// pools are journaled in the same place.</summary>
public static class PersistenceConfig
{
    public const string JournalPluginId = "akka.persistence.journal.sql";
    public const string ReadJournalPluginId = "akka.persistence.query.journal.sql";

    public static Config For(JournalSettings journal, string stateDir) => journal.Provider switch
    {
        JournalProvider.Sqlite => Sqlite(Path.Combine(stateDir, "journal.db").Replace("\\", "/")),
        JournalProvider.PostgreSql => PostgreSql(journal.ConnectionString!),
        _ => throw new ArgumentOutOfRangeException(nameof(journal), journal.Provider, null),
    };

    /// <summary>Journal, snapshot store and read journal in one SQLite file, with the node's measured fast paths
    /// (<see cref="GroupCommitJournal"/>, <see cref="ParallelSnapshotStore"/>) and SQLite's own tuning.</summary>
    public static Config Sqlite(string database) => ConfigurationFactory.ParseString($$"""
        akka {
          persistence {
            # A tape actor is started (and recovers its journal) on its first event after being idle. Recoveries beyond
            # this wait; 200 keeps both cores busy here (more measured no faster: recovery is bound by CPU).
            max-concurrent-recoveries = 200
            journal {
              plugin = "{{JournalPluginId}}"
              sql {
                class = "{{typeof(GroupCommitJournal).FullName}}, {{typeof(GroupCommitJournal).Assembly.GetName().Name}}"
                connection-string = "Data Source={{database}}"
                provider-name = "SQLite.MS"
                auto-initialize = on
                # SQLite takes one writer at a time; several only queue on its lock.
                parallelism = 1
                # The filter repairs histories that two writers of one persistence id interleaved. Here the journal's
                # unique (persistence id, sequence number) index (journal_uq, created by auto-initialize) already
                # refuses a second writer's event, so there is nothing to repair, and the filter cost a child actor
                # per recovery: a tenth of the CPU time when thousands of idle tapes woke at once.
                replay-filter.mode = off
                read-isolation-level = {{SqliteReadIsolation}}
                {{CoordinatorMigration}}
              }
            }
            snapshot-store {
              plugin = "akka.persistence.snapshot-store.sql"
              sql {
                class = "{{typeof(ParallelSnapshotStore).FullName}}, {{typeof(ParallelSnapshotStore).Assembly.GetName().Name}}"
                connection-string = "Data Source={{database}}"
                provider-name = "SQLite.MS"
                auto-initialize = on
                read-isolation-level = {{SqliteReadIsolation}}
              }
            }
            query.journal.sql {
              write-plugin = "{{JournalPluginId}}"
              connection-string = "Data Source={{database}}"
              provider-name = "SQLite.MS"
              read-isolation-level = {{SqliteReadIsolation}}
            }
          }
        }
        """).WithFallback(SqlPersistence.DefaultConfiguration);

    /// <summary>The plugin on PostgreSQL 15, with our statements for the hot paths (<see cref="PostgreSqlJournalStatements"/>
    /// in <see cref="GroupCommitJournal"/> and <see cref="ParallelSnapshotStore"/>) and its own for everything else
    /// (queries, deletes, snapshot saves). The group commit also writes a failed group again one caller at a time: the
    /// plugin failed every write of a batch with one bad one (a sequence number already taken). The tables are created
    /// before the actor system starts, by one node at a time (<see cref="PostgreSqlSchema"/>), so the plugin never
    /// creates them itself.</summary>
    public static Config PostgreSql(string connectionString) => ConfigurationFactory.ParseString($$"""
        akka.persistence {
          journal {
            plugin = "{{JournalPluginId}}"
            sql {
              class = "{{typeof(GroupCommitJournal).FullName}}, {{typeof(GroupCommitJournal).Assembly.GetName().Name}}"
              connection-string = {{Quoted(connectionString)}}
              provider-name = "{{PostgreSqlSchema.ProviderName}}"
              auto-initialize = off
            }
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.sql"
            sql {
              class = "{{typeof(ParallelSnapshotStore).FullName}}, {{typeof(ParallelSnapshotStore).Assembly.GetName().Name}}"
              connection-string = {{Quoted(connectionString)}}
              provider-name = "{{PostgreSqlSchema.ProviderName}}"
              auto-initialize = off
            }
          }
          query.journal.sql {
            write-plugin = "{{JournalPluginId}}"
            connection-string = {{Quoted(connectionString)}}
            provider-name = "{{PostgreSqlSchema.ProviderName}}"
          }
        }
        """).WithFallback(SqlPersistence.DefaultConfiguration);

    /// <summary>The one-node build before the cluster kept Cluster Sharding's coordinator in the journal
    /// (<c>state-store-mode = persistence</c>). Its remembered shards are read once by the coordinator store that
    /// replaces it, which writes a migration marker after them; this adapter turns the old coordinator's events into
    /// the shard ids that store expects (Akka.NET's documented migration).</summary>
    private const string CoordinatorMigration = """
        event-adapters { coordinator-migration = "Akka.Cluster.Sharding.OldCoordinatorStateMigrationEventAdapter, Akka.Cluster.Sharding" }
        event-adapter-bindings { "Akka.Cluster.Sharding.ShardCoordinator+IDomainEvent, Akka.Cluster.Sharding" = coordinator-migration }
        """;

    /// <summary>Microsoft.Data.Sqlite begins every other transaction with BEGIN IMMEDIATE, which takes SQLite's one
    /// write lock: with it, every recovery's reads queued behind the journal writer and each other, losers sleeping
    /// 150 ms before trying again. A read-uncommitted transaction begins deferred and takes no lock; without a shared
    /// cache SQLite still shows it committed data only, so nothing uncommitted is ever read.</summary>
    private const string SqliteReadIsolation = "read-uncommitted";

    private static string Quoted(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
