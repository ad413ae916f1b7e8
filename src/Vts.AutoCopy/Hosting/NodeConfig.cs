using Akka.Configuration;
using Akka.Persistence.Sql;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.Hosting;

/// <summary>Builds the node's configuration from its HOCON files (SPEC §4.1): later files override earlier ones,
/// <c>${?ENV_VAR}</c> works across files, and standard Akka keys in the files win over our defaults.</summary>
public static class NodeConfig
{
    public const string SystemName = "vts";

    public static Config Load(IReadOnlyList<string> files)
    {
        if (files.Count == 0) throw new ConfigurationInvalidException("no configuration: pass --config FILE");
        var texts = new List<string>();
        foreach (var file in files)
        {
            if (!File.Exists(file)) throw new ConfigurationInvalidException($"configuration file '{file}' does not exist");
            var text = File.ReadAllText(file);
            if (text.Length > 1024 * 1024) throw new ConfigurationInvalidException($"configuration file '{file}' is larger than 1 MiB");
            texts.Add(text);
        }
        // One document, files in order: HOCON merges repeated keys with the later value winning, and a
        // substitution in one file may refer to a key set in another.
        try
        {
            return ConfigurationFactory.ParseString(string.Join("\n", texts));
        }
        catch (Exception e)
        {
            throw new ConfigurationInvalidException($"configuration does not parse ({string.Join(", ", files)}): {FirstLine(e.Message)}");
        }
    }

    /// <summary>The whole Akka configuration: the operator's files first, then our defaults: a cluster (one node
    /// joins itself), Cluster Sharding with remembered entities, and the journal in SQLite under the state dir.</summary>
    public static Config ForAkka(Config files, VtsSettings settings)
    {
        var database = Path.Combine(settings.StateDir, "journal.db").Replace("\\", "/");
        var defaults = ConfigurationFactory.ParseString($$"""
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
              cluster {
                seed-nodes = []
                min-nr-of-members = 1
                sharding {
                  remember-entities = on
                  remember-entities-store = eventsourced
                  state-store-mode = persistence
                }
              }
              persistence {
                journal {
                  plugin = "akka.persistence.journal.sql"
                  sql {
                    connection-string = "Data Source={{database}}"
                    provider-name = "SQLite.MS"
                    auto-initialize = on
                    # SQLite takes one writer at a time; several only queue on its lock.
                    parallelism = 1
                  }
                }
                snapshot-store {
                  plugin = "akka.persistence.snapshot-store.sql"
                  sql {
                    connection-string = "Data Source={{database}}"
                    provider-name = "SQLite.MS"
                    auto-initialize = on
                  }
                }
                query.journal.sql {
                  connection-string = "Data Source={{database}}"
                  provider-name = "SQLite.MS"
                }
              }
            }
            """);
        return files
            .WithFallback(ConfigurationFactory.ParseString(VtsSerializer.Hocon))
            .WithFallback(defaults)
            .WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
