using Microsoft.Data.Sqlite;

namespace Vts.Testing;

/// <summary>A source node's folders and configuration, aimed at one <see cref="Sshd"/> target.</summary>
public sealed class NodeSite : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("vts-node-").FullName;
    public string Vault => Path.Combine(Dir, "vault");
    public string State => Path.Combine(Dir, "state");
    public string ConfigFile => Path.Combine(Dir, "node.hocon");

    /// <param name="extra">more HOCON inside <c>vts { }</c>; <paramref name="targetExtra"/> inside the target's block.</param>
    public NodeSite(Sshd target, string retryInterval = "1s", int maxAttempts = 100, int slots = 2, string extra = "", string targetExtra = "")
    {
        Directory.CreateDirectory(Path.Combine(Vault, "POOL1"));
        Directory.CreateDirectory(Path.Combine(Vault, "POOL2"));
        File.WriteAllText(ConfigFile, $$"""
            vts {
              node-name = "test-node"
              state-dir = "{{State}}"
              vault-root = "{{Vault}}"
              ems.listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              {{extra}}
              autocopy {
                retry { interval = {{retryInterval}}, max-attempts = {{maxAttempts}} }
                max-concurrent-transfers = {{slots}}
                targets {
                  dr {
                    host = "{{target.Host}}", port = {{target.Port}}, user = "{{target.User}}"
                    private-key-file = "{{target.ClientKey}}"
                    host-key-sha256 = "{{target.HostKeyFingerprint}}"
                    vault-root = "{{target.VaultRoot}}"
                    {{targetExtra}}
                  }
                }
                pools {
                  POOL1 { target = dr, target-pool = DRPOOL1 }
                  POOL2 { target = dr, target-pool = DRPOOL2 }
                }
              }
            }
            """);
    }

    public string Tape(string pool, string volser) => Path.Combine(Vault, pool, volser);

    public string[] EventLogLines() =>
        File.Exists(Path.Combine(State, "event.log"))
            ? File.ReadAllLines(Path.Combine(State, "event.log"))
            : [];

    /// <summary>The persisted journal, read straight from the node's SQLite file: manifests of one persistence id, in order.</summary>
    public List<string> JournalManifests(string persistenceId)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(State, "journal.db")};Mode=ReadOnly");
        db.Open();
        using var query = db.CreateCommand();
        query.CommandText = "SELECT manifest FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        query.Parameters.AddWithValue("$id", persistenceId);
        using var rows = query.ExecuteReader();
        var manifests = new List<string>();
        while (rows.Read()) manifests.Add(rows.GetString(0));
        return manifests;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
