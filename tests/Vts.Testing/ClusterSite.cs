using Npgsql;

namespace Vts.Testing;

/// <summary>A cluster of source nodes as operators deploy one (docs/cluster.md): one vault every node reaches, one PostgreSQL
/// journal, the same autocopy configuration, each node with its own state dir, remoting port and EMS/admin ports.
/// <see cref="Pools"/> pools all copy to one <see cref="Sshd"/> target.</summary>
public sealed class ClusterSite : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("vts-cluster-").FullName;
    public string Vault => Path.Combine(Dir, "vault");
    public string ConnectionString { get; }
    public IReadOnlyList<string> Pools { get; }
    private readonly Sshd _target;
    private readonly int[] _remotePorts;
    private readonly string _retryInterval;
    private readonly int _slots;
    private readonly int _targetPort;
    private readonly string _extra;
    private readonly string _targetExtra;
    private readonly string _connectTimeout;

    /// <param name="targetPort">where the target listens, if not at <paramref name="target"/> (whose keys are used).</param>
    /// <param name="extra">more HOCON for every node; <paramref name="targetExtra"/> inside the target's block.</param>
    public ClusterSite(Sshd target, string connectionString, int nodes = 3, int pools = 6, string retryInterval = "5m", int slots = 2,
        int? targetPort = null, string extra = "", Func<int, string>? poolName = null, string connectTimeout = "15s",
        string targetExtra = "")
    {
        _connectTimeout = connectTimeout;
        _target = target;
        _targetPort = targetPort ?? target.Port;
        _extra = extra;
        _targetExtra = targetExtra;
        ConnectionString = connectionString;
        _retryInterval = retryInterval;
        _slots = slots;
        Pools = Enumerable.Range(1, pools).Select(poolName ?? (i => $"POOL{i}")).ToList();
        foreach (var pool in Pools) Directory.CreateDirectory(Path.Combine(Vault, pool));
        _remotePorts = Enumerable.Range(0, nodes).Select(_ => Sshd.FreePort()).ToArray();
        for (var i = 1; i <= nodes; i++) WriteConfig(i, Pools);
    }

    public int Nodes => _remotePorts.Length;

    public string State(int node) => Path.Combine(Dir, $"state-{node}");
    public string ConfigFile(int node) => Path.Combine(Dir, $"node-{node}.hocon");

    /// <summary>Node <paramref name="node"/> (from 1) as a process of its own, beside the others on this machine.</summary>
    public NodeProcess StartNode(int node) => NodeProcess.StartBeside(ConfigFile(node));
    public string Tape(string pool, string volser) => Path.Combine(Vault, pool, volser);
    public string TargetPool(string pool) => Path.Combine(_target.VaultRoot, "DR" + pool);

    /// <summary>Writes node N's configuration; <paramref name="pools"/> other than the cluster's makes a node the
    /// cluster must refuse.</summary>
    public string WriteConfig(int node, IEnumerable<string> pools, int? remotePort = null)
    {
        var seeds = string.Join(", ", _remotePorts.Select(p => $"\"akka.tcp://vts@127.0.0.1:{p}\""));
        var poolLines = string.Join("\n", pools.Select(p => $"      {p} {{ target = dr, target-pool = DR{p} }}"));
        var port = remotePort ?? (node <= _remotePorts.Length ? _remotePorts[node - 1] : Sshd.FreePort());
        File.WriteAllText(ConfigFile(node), $$"""
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
            akka.cluster.seed-nodes = [{{seeds}}]
            {{_extra}}
            vts {
              node-name = "node-{{node}}"
              state-dir = "{{State(node)}}"
              vault-root = "{{Vault}}"
              ems.listen = "127.0.0.1:0"
              admin.listen = "127.0.0.1:0"
              journal { provider = postgresql, connection-string = "{{ConnectionString}}" }
              autocopy {
                retry { interval = {{_retryInterval}}, max-attempts = 12 }
                max-concurrent-transfers = {{_slots}}
                targets {
                  dr {
                    host = "{{_target.Host}}", port = {{_targetPort}}, user = "{{_target.User}}"
                    private-key-file = "{{_target.ClientKey}}"
                    host-key-sha256 = "{{_target.HostKeyFingerprint}}"
                    vault-root = "{{_target.VaultRoot}}"
                    connect-timeout = {{_connectTimeout}}
                    {{_targetExtra}}
                  }
                }
                pools {
            {{poolLines}}
                }
              }
            }
            """);
        return ConfigFile(node);
    }

    /// <summary>Node N's copy of the cluster's event log.</summary>
    public string[] EventLogLines(int node) =>
        File.Exists(Path.Combine(State(node), "event.log")) ? File.ReadAllLines(Path.Combine(State(node), "event.log")) : [];

    /// <summary>The manifests of one persistence id's events, in order, read from the shared journal.</summary>
    public async Task<List<string>> JournalManifests(string persistenceId) =>
        (await JournalEvents(persistenceId)).Select(e => e.Manifest).ToList();

    /// <summary>A persistence id's events in order: each one's manifest (its type) and when it was journaled.</summary>
    public async Task<List<(string Manifest, DateTime Journaled)>> JournalEvents(string persistenceId)
    {
        await using var db = new NpgsqlConnection(ConnectionString);
        await db.OpenAsync();
        await using var query = new NpgsqlCommand(
            "SELECT manifest, created FROM journal WHERE persistence_id = @id ORDER BY sequence_number", db);
        query.Parameters.AddWithValue("id", persistenceId);
        await using var rows = await query.ExecuteReaderAsync();
        var events = new List<(string, DateTime)>();
        while (await rows.ReadAsync()) events.Add((rows.GetString(0), new DateTime(rows.GetInt64(1), DateTimeKind.Utc)));
        return events;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
