using System.Diagnostics;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>Goal 5: many due copies, the node killed (SIGKILL) and started again: how soon is every due copy back
/// in line for a transfer (queued at the gate in dismount order, or running)?</summary>
public static class RestartResume
{
    public static async Task Run(Report report, string scratch, int due)
    {
        report.Section($"5. Restart with {due:N0} due copies");
        await using var sshd = await Sshd.Create(start: false); // only for its keys
        await using var hole = new BlackHole();
        await using var node = new BenchNode(scratch, "restart-node", hole.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, "/vault",
            pools: 100, connectTimeout: "10m");
        for (var i = 0; i < due; i++)
        {
            var folder = Path.Combine(node.Vault, BenchNode.PoolName(i % 100));
            Directory.CreateDirectory(folder);
            await File.WriteAllBytesAsync(Path.Combine(folder, $"R{i:D5}"), new byte[1024]);
        }
        await node.Start();
        var ingest = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(c => EmsIngest.Pipelined(node.Ems,
            Enumerable.Range(0, due).Where(i => i % 8 == c).Select(i => EmsClient.Dismount($"r-{i}", BenchNode.PoolName(i % 100), $"R{i:D5}")).ToList(), pace: 0)));
        await AllQueued(node, due, TimeSpan.FromMinutes(5), Stopwatch.StartNew());
        var firstRun = ingest.Elapsed;
        await node.Kill();

        var clock = Stopwatch.StartNew();
        var ready = await node.Start();
        var slotsBusy = await AllQueued(node, due, TimeSpan.FromMinutes(5), clock);
        var resumed = clock.Elapsed;
        var rss = node.Process!.ResidentBytes;
        report.Add(new Figure($"restart → all {due:N0} due copies running or queued for a slot", $"{resumed.TotalSeconds:F1} s",
            "≤ 10 s", Stats.Met(resumed.TotalSeconds <= 10), $"process start → EMS port open {ready.TotalSeconds:F1} s"));
        report.Add(new Figure("restart → both transfer slots busy again", $"{slotsBusy.TotalSeconds:F1} s", "-", "-",
            "copies resume in dismount order while the rest are still being woken"));
        report.Add(new Figure("node RSS with them due", $"{rss / 1048576.0:F0} MiB", "-", "-", $"first run took {firstRun.TotalSeconds:F1} s to ingest and queue them"));
        report.Note("Pools recover first and the EMS port opens; only then do pools wake their busy tapes, 4 at a time each. Each tape " +
                    "recovers its own journal (three prepared SQLite reads, as in section 2); through Akka.Persistence.Sql's own queries " +
                    "this took 23.7 s.");
        report.Note($"The target accepts TCP and never answers, so no copy completes during the measurement; at most " +
                    "max-concurrent-transfers (2) can be transferring at once, the rest wait at the gate in dismount order.");
    }

    /// <summary>Waits until every due copy is queued or running; returns when the slots (2) were first all busy.</summary>
    private static async Task<TimeSpan> AllQueued(BenchNode node, int due, TimeSpan timeout, Stopwatch clock)
    {
        var waitedFrom = clock.Elapsed;
        TimeSpan? slotsBusy = null;
        while (true)
        {
            var running = await node.Metric("vts_transfers_in_flight", "target=\"dr\"");
            slotsBusy ??= running >= 2 ? clock.Elapsed : null;
            var queued = await node.Metric("vts_transfers_waiting", "target=\"dr\"") + running;
            if (queued >= due) return slotsBusy ?? clock.Elapsed;
            if (clock.Elapsed - waitedFrom > timeout) throw new TimeoutException($"only {queued} of {due} copies queued");
            await Task.Delay(100);
        }
    }
}
