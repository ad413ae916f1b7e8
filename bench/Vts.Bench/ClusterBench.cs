using System.Diagnostics;
using Npgsql;
using System.Net.Http.Json;
using Vts.Admin.Contracts;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>Section 6: three vts-node processes on one PostgreSQL journal. Failover (SIGKILL of the oldest node, home of
/// the shard coordinator, the transfer gate and the event log), EMS ingest with events spread over every node, and a
/// restart of the whole cluster with many due copies.</summary>
public static class ClusterBench
{
    private const int Pools = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    public static readonly string[] Parts = ["failover", "ingest", "restart", "ingest-one-node"];

    public static async Task Run(Report report, int failovers, int dueOnDeadNode, int events, int paced, int restartDue, IReadOnlySet<string> parts)
    {
        report.Section("6. A cluster of three nodes on one PostgreSQL 15 journal");
        await using var postgres = await Postgres.Start();
        if (parts.Contains("failover"))
            for (var run = 1; run <= failovers; run++) await Failover(report, postgres, run, dueOnDeadNode);
        if (parts.Contains("ingest")) await Ingest(report, postgres, events, paced, nodes: 3);
        if (parts.Contains("ingest-one-node")) await Ingest(report, postgres, events, paced, nodes: 1);
        if (parts.Contains("restart")) await Restart(report, postgres, restartDue);
        if (parts.Contains("probe")) await Probe(report, postgres);
        report.Note("All three nodes, PostgreSQL and the target share this machine's 2 cores. The target is a black hole (it " +
                    "accepts TCP and never answers), so a granted transfer holds its slot and the figures are the engine's own: " +
                    "when a copy is back in line, not how fast the network then moves it.");
    }

    /// <summary>SIGKILL of the oldest node holding both transfer slots and a queue of due copies: how soon does a survivor
    /// run one of them again, and how soon are they all back in line (running or queued at the new gate)?</summary>
    private static async Task Failover(Report report, Postgres postgres, int run, int due)
    {
        await using var cluster = await BenchCluster.Start(postgres, "failover");
        var owners = await cluster.StableOwners();
        var deadPools = owners.Where(o => o.Value == "node-1").Select(o => o.Key).ToList();
        var tapes = Enumerable.Range(0, due).Select(i => (Pool: deadPools[i % deadPools.Count], Volser: $"F{i:D5}")).ToList();
        foreach (var (pool, volser) in tapes) await File.WriteAllBytesAsync(cluster.Site.Tape(pool, volser), new byte[1024]);
        // Through node 2: the events reach node 1's pools as any EMS sender's would.
        await EmsIngest.Pipelined(cluster.Ems[1], tapes.Select((t, i) => EmsClient.Dismount($"f-{i}", t.Pool, t.Volser)).ToList(), pace: 0);
        await cluster.WaitForQueue(due, nodes: [1, 2, 3]);

        var clock = Stopwatch.StartNew();
        var killedAt = DateTime.UtcNow;
        await cluster.Nodes[0].Kill();
        while (true)
        {
            var (running, waiting) = await cluster.Queue(nodes: [2, 3]);
            if (running + waiting >= due) break;
            if (clock.Elapsed > Deadline) throw new TimeoutException($"after the kill only {running + waiting} of {due} copies back in line");
            await Task.Delay(50);
        }
        var all = clock.Elapsed;
        // When a survivor began an attempt, as its tape journaled it: the outcome itself, not when a poll of the
        // metrics saw it (those polls were late by up to 2 s while the survivors recovered the dead node's tapes).
        var first = await FirstAttemptAfter(cluster.Site.ConnectionString, killedAt) - killedAt;
        await cluster.KeepLogs($"failover-{run}", $"killed at {killedAt:O}");
        report.Add(new Figure($"failover run {run}: SIGKILL → first of the dead node's copies running on a survivor",
            $"{first.TotalSeconds:F1} s", "≤ 10 s", Stats.Met(first.TotalSeconds <= 10),
            $"{deadPools.Count} pools on the killed node, both slots held by it; the attempt's start as journaled"));
        report.Add(new Figure($"failover run {run}: SIGKILL → all {due:N0} of its due copies back in line", $"{all.TotalSeconds:F1} s",
            "≤ 20 s", Stats.Met(all.TotalSeconds <= 20), "running or queued at the gate on a survivor"));
    }

    private static async Task<DateTime> FirstAttemptAfter(string connectionString, DateTime after)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await using var first = new NpgsqlCommand(
                "SELECT MIN(created) FROM journal WHERE manifest = 'tape.attempt-started.v1' AND created >= $1", db);
            first.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after.Ticks });
            if (await first.ExecuteScalarAsync() is long ticks) return new DateTime(ticks, DateTimeKind.Utc);
            if (clock.Elapsed > Deadline) throw new TimeoutException("no attempt began on a survivor");
            await Task.Delay(100);
        }
    }

    private static async Task Ingest(Report report, Postgres postgres, int events, int paced, int nodes)
    {
        await using var cluster = await BenchCluster.Start(postgres, "ingest", nodes);
        await cluster.StableOwners();
        var volsers = Enumerable.Range(0, Math.Max(events, paced)).Select(i => (Pool: cluster.Site.Pools[i % Pools], Volser: $"I{i:D5}")).ToList();
        foreach (var (pool, volser) in volsers) await File.WriteAllBytesAsync(cluster.Site.Tape(pool, volser), []);

        const int connections = 9; // spread over the nodes
        async Task<double> Burst(string idPrefix, int count)
        {
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, connections).Select(c => EmsIngest.Pipelined(cluster.Ems[c % nodes],
                Enumerable.Range(0, count).Where(i => i % connections == c)
                    .Select(i => EmsClient.Mount($"{idPrefix}-{i}", volsers[i].Pool, volsers[i].Volser, "noring")).ToList(), pace: 0)));
            return count / clock.Elapsed.TotalSeconds;
        }
        await Burst("warm", Math.Min(2_000, events));
        var rate = await Burst("burst", events);
        report.Add(new Figure($"acknowledged events/s {Over(nodes)} ({events:N0} mounts, {connections} connections, {Pools} pools)",
            $"{rate:N0}/s", "≥ 5,000/s", Stats.Met(rate >= 5000), nodes > 1 ? "each journaled in PostgreSQL before its ack; most reach a node that does not own the pool" : "each journaled in PostgreSQL before its ack"));

        // As on one node: the steady rate starts once every node has settled after the bursts.
        foreach (var node in cluster.Nodes) await BenchNode.WaitUntilQuiet(node, TimeSpan.FromMinutes(1));
        var perNode = await Task.WhenAll(Enumerable.Range(0, nodes).Select(n => EmsIngest.Pipelined(cluster.Ems[n],
            Enumerable.Range(0, paced / nodes).Select(i => i * nodes + n)
                .Select(i => EmsClient.Mount($"paced-{i}", volsers[i].Pool, volsers[i].Volser, "noring")).ToList(), pace: 500 / nodes)));
        var latencies = perNode.SelectMany(l => l).ToList();
        report.Add(new Figure($"ack latency p99 at 500 events/s {Over(nodes)}", $"{Stats.Percentile(latencies, 99):F1} ms", "≤ 20 ms",
            Stats.Met(Stats.Percentile(latencies, 99) <= 20), $"p50 {Stats.Percentile(latencies, 50):F1} ms, max {latencies.Max():F0} ms; {latencies.Count:N0} events, one connection to each node"));
    }

    /// <summary>Not in a full run (<c>--cluster probe</c>): one event at a time, to each node, for a tape not in memory and
    /// then again for the same tape, split by whether the node owns the pool: what a hop between nodes and a recovery cost.</summary>
    private static async Task Probe(Report report, Postgres postgres)
    {
        await using var cluster = await BenchCluster.Start(postgres, "probe");
        var owners = await cluster.StableOwners();
        var results = new Dictionary<string, List<double>>();
        var n = 0;
        for (var round = 0; round < 20; round++)
        foreach (var pool in cluster.Site.Pools)
        for (var node = 0; node < 3; node++)
        {
            var volser = $"Q{n++:D5}";
            await File.WriteAllBytesAsync(cluster.Site.Tape(pool, volser), []);
            using var ems = new EmsClient(cluster.Ems[node]);
            var local = owners[pool] == $"node-{node + 1}" ? "to the pool's own node" : "to another node";
            foreach (var kind in new[] { "tape not in memory", "tape in memory" })
            {
                var clock = Stopwatch.StartNew();
                var reply = await ems.Send(EmsClient.Mount($"p-{volser}-{kind.Length}", pool, volser, "noring"));
                var ms = clock.Elapsed.TotalMilliseconds;
                if (!reply.TryGetProperty("ack", out _)) throw new InvalidOperationException($"not acknowledged: {reply}");
                if (round == 0) continue; // the first round compiles the paths
                var key = $"{local}, {kind}";
                if (!results.TryGetValue(key, out var list)) results[key] = list = [];
                list.Add(ms);
            }
        }
        foreach (var (key, list) in results.OrderBy(r => r.Key))
            report.Add(new Figure($"one event at a time, {key}", $"p50 {Stats.Percentile(list, 50):F1} ms", "-", "-",
                $"p90 {Stats.Percentile(list, 90):F1} ms, max {list.Max():F1} ms, {list.Count} events"));
    }

    private static string Over(int nodes) => nodes > 1 ? $"over the cluster of {nodes}" : "on one node on PostgreSQL";

    /// <summary>Every node killed with many copies due, then all three started again together.</summary>
    private static async Task Restart(Report report, Postgres postgres, int due)
    {
        await using var cluster = await BenchCluster.Start(postgres, "restart");
        await cluster.StableOwners();
        var tapes = Enumerable.Range(0, due).Select(i => (Pool: cluster.Site.Pools[i % Pools], Volser: $"R{i:D5}")).ToList();
        foreach (var (pool, volser) in tapes) await File.WriteAllBytesAsync(cluster.Site.Tape(pool, volser), new byte[1024]);
        await Task.WhenAll(Enumerable.Range(0, 9).Select(c => EmsIngest.Pipelined(cluster.Ems[c % 3],
            tapes.Where((_, i) => i % 9 == c).Select(t => EmsClient.Dismount($"r-{t.Volser}", t.Pool, t.Volser)).ToList(), pace: 0)));
        await cluster.WaitForQueue(due, nodes: [1, 2, 3]);
        foreach (var node in cluster.Nodes) await node.Kill();

        var clock = Stopwatch.StartNew();
        await cluster.StartAll(together: true); // as after a site power cut
        var ready = clock.Elapsed;
        await cluster.WaitForQueue(due, nodes: [1, 2, 3]);
        var all = clock.Elapsed;
        await cluster.KeepLogs("restart", $"started at {DateTime.UtcNow - all:O}");
        report.Add(new Figure($"whole-cluster restart → all {due:N0} due copies running or queued", $"{all.TotalSeconds:F1} s", "≤ 10 s",
            Stats.Met(all.TotalSeconds <= 10), $"all three EMS ports open after {ready.TotalSeconds:F1} s; no new event"));
    }
}

/// <summary>Three nodes of a <see cref="ClusterSite"/> aimed at a black hole, started oldest first.</summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private readonly Sshd _keys;
    private readonly BlackHole? _hole;
    public ClusterSite Site { get; }
    public List<NodeProcess> Nodes { get; } = [];
    public List<System.Net.IPEndPoint> Ems { get; } = [];

    private BenchCluster(Sshd keys, BlackHole? hole, ClusterSite site)
    {
        _keys = keys;
        _hole = hole;
        Site = site;
    }

    /// <param name="target">a real target; none: a black hole, where a transfer holds its slot and never fails.</param>
    public static async Task<BenchCluster> Start(Postgres postgres, string name, int nodes = 3, Sshd? target = null, int pools = 12,
        int slots = 2, string targetExtra = "")
    {
        var keys = target ?? await Sshd.Create(start: false);
        var hole = target is null ? new BlackHole() : null;
        var site = new ClusterSite(keys, await postgres.CreateDatabase($"bench_{name}_{Guid.NewGuid():N}"[..40]), nodes,
            pools: pools, slots: slots, targetPort: hole?.Port, extra: $"akka.loglevel = {Environment.GetEnvironmentVariable("VTS_BENCH_LOGLEVEL") ?? "WARNING"}\nvts.ems.ack-timeout = 120s",
            poolName: i => $"P{i:D3}", connectTimeout: hole is null ? "15s" : "10m", targetExtra: targetExtra);
        var cluster = new BenchCluster(keys, hole, site);
        await cluster.StartAll();
        return cluster;
    }

    /// <param name="together">all three at once; otherwise node 1 first, so it is the oldest.</param>
    public async Task StartAll(bool together = false)
    {
        Nodes.Clear();
        Ems.Clear();
        Nodes.Add(Site.StartNode(1));
        if (!together) await Nodes[0].WaitUntilReady(TimeSpan.FromMinutes(5));
        for (var n = 2; n <= Site.Nodes; n++) Nodes.Add(Site.StartNode(n));
        foreach (var node in Nodes) Ems.Add(await node.WaitUntilReady(TimeSpan.FromMinutes(5)));
    }

    /// <summary>Which node owns each pool, once sharding has stopped moving pools to the nodes that joined last.</summary>
    public async Task<Dictionary<string, string>> StableOwners()
    {
        using var http = new HttpClient();
        Dictionary<string, string>? last = null;
        var stableSince = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            using var answer = await http.GetAsync(Nodes[0].AdminUrl + AdminApi.Pools);
            if (answer.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable)
            {
                // A pool being handed over to a node that joined answers once it has arrived.
                stableSince.Restart();
                await Task.Delay(500);
                continue;
            }
            answer.EnsureSuccessStatusCode();
            var pools = await answer.Content.ReadFromJsonAsync<List<PoolView>>(AdminApi.Json) ?? [];
            var owners = pools.ToDictionary(p => p.Pool, p => p.Node);
            if (last is null || !owners.OrderBy(o => o.Key).SequenceEqual(last.OrderBy(o => o.Key))) stableSince.Restart();
            last = owners;
            // Balanced (sharding's default strategy moves pools until no node has two more than another) and still.
            var counts = owners.Values.GroupBy(n => n).Select(g => g.Count()).ToList();
            if (counts.Count == Site.Nodes && counts.Max() - counts.Min() <= 1 && stableSince.Elapsed > TimeSpan.FromSeconds(12)) return owners;
            await Task.Delay(500);
        }
        throw new TimeoutException($"sharding never settled the pools over the {Site.Nodes} nodes");
    }

    /// <summary>Running and waiting transfers, added up over the given nodes (1-based): only the node that hosts the
    /// transfer gate publishes them.</summary>
    public async Task<(double Running, double Waiting)> Queue(int[] nodes)
    {
        double running = 0, waiting = 0;
        foreach (var n in nodes)
        {
            running += await BenchNode.Metric(Nodes[n - 1], "vts_transfers_in_flight", "target=\"dr\"");
            waiting += await BenchNode.Metric(Nodes[n - 1], "vts_transfers_waiting", "target=\"dr\"");
        }
        return (running, waiting);
    }

    public async Task WaitForQueue(int due, int[] nodes)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var (running, waiting) = await Queue(nodes);
            if (running + waiting >= due) return;
            if (clock.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"only {running + waiting} of {due} copies queued");
            await Task.Delay(100);
        }
    }

    /// <summary>With <c>VTS_BENCH_LOGS=DIR</c>: each node's output so far, headed by <paramref name="moment"/>, written
    /// there as <c>NAME-node-N.log</c> (where a failover's or a restart's seconds went).</summary>
    public async Task KeepLogs(string name, string moment)
    {
        if (Environment.GetEnvironmentVariable("VTS_BENCH_LOGS") is not { } logs) return;
        for (var n = 0; n < Nodes.Count; n++)
            await File.WriteAllTextAsync(Path.Combine(logs, $"{name}-node-{n + 1}.log"), $"{moment}\n{Nodes[n].Output}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes) await node.DisposeAsync();
        if (_hole is not null)
        {
            await _hole.DisposeAsync();
            await _keys.DisposeAsync(); // a real target is its caller's
        }
        Site.Dispose();
    }
}
