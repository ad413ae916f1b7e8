using System.Diagnostics;
using System.Net.Http.Json;
using Vts.Admin.Contracts;
using Vts.Testing;
using Vts.Testing.Wan;

namespace Vts.Bench;

/// <summary>Section 8: a target's bandwidth limit over a cluster of two nodes, each sending at once, measured where it
/// counts: bytes arriving at the target. Then an operator's override, and how soon the target sees it.</summary>
public static class BandwidthBench
{
    private const long Limit = 12_500_000;    // 100Mbit/s
    private const long Throttled = 6_250_000; // 50Mbit/s
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    public static async Task Run(Report report, bool quick)
    {
        report.Section("8. A target's bandwidth limit over two nodes sending at once");
        var tapeMiB = quick ? 64 : 160;
        await using var postgres = await Postgres.Start();
        // The target behind a link far faster than the limit (1 Gbit/s, 2 ms): the link counts every byte that reaches
        // the target, which file sizes cannot (a tape sent in chunks grows its file at several offsets at once).
        await using var wan = await WanLink.Create(TimeSpan.FromMilliseconds(2), 1_000_000_000);
        await using var sshd = await Sshd.Create(behind: wan);
        await using var cluster = await BenchCluster.Start(postgres, "bandwidth", nodes: 2, target: sshd, pools: 4, slots: 4,
            targetExtra: "bandwidth { limit = 100Mbit/s }");
        var owners = await cluster.StableOwners();
        var tapes = owners.Keys.Select((pool, i) => (Pool: pool, Volser: $"W{i:D5}")).ToList();
        foreach (var (pool, volser) in tapes) TapeFiles.Write(cluster.Site.Tape(pool, volser), (long)tapeMiB << 20, seed: volser.GetHashCode());
        var total = tapes.Count * ((long)tapeMiB << 20);
        var start = wan.BytesOut;
        long AtTarget() => wan.BytesOut - start;

        using (var ems = new EmsClient(cluster.Ems[0]))
            for (var i = 0; i < tapes.Count; i++) await ems.Send(EmsClient.Dismount($"b-{i}", tapes[i].Pool, tapes[i].Volser));

        // Samples of the bytes at the target, every 100 ms, until every copy is there.
        var samples = new List<(double At, long Bytes)>();
        var clock = Stopwatch.StartNew();
        double? overrideAt = null, overrideSeen = null;
        using var http = new HttpClient();
        while (tapes.Any(t => !File.Exists(Path.Combine(cluster.Site.TargetPool(t.Pool), t.Volser))))
        {
            if (clock.Elapsed > Deadline) throw new TimeoutException("the copies did not arrive");
            var now = (clock.Elapsed.TotalSeconds, AtTarget());
            samples.Add(now);
            if (overrideAt is null && now.Item2 >= total / 2)
            {
                // Through the node that does not host the gate (node 1 is the oldest): the override travels the cluster.
                var answer = await http.PostAsJsonAsync(cluster.Nodes[1].AdminUrl + AdminApi.TargetThrottle("dr"), new ThrottleRequest("50Mbit/s"),
                    AdminApi.Json);
                answer.EnsureSuccessStatusCode();
                overrideAt = clock.Elapsed.TotalSeconds;
            }
            if (overrideAt is { } set && overrideSeen is null && RateOver(samples, 0.5) is { } recent && samples[^1].At - 0.5 > set
                && recent <= Throttled * 1.1)
                overrideSeen = samples[^1].At - set;
            await Task.Delay(100);
        }

        var before = RateBetween(samples, total / 10, total * 4 / 10);
        var after = RateBetween(samples, total * 6 / 10, total * 9 / 10);
        report.Add(new Figure("limit 100 Mbit/s, two nodes, four transfers at once: rate at the target", $"{before * 8 / 1e6:F1} Mbit/s",
            "within ±10 % of the limit", Stats.Met(Math.Abs(before / Limit - 1) <= 0.10),
            $"{before / Limit:P0} of the limit; from a tenth to four tenths of the {total >> 20} MiB; pools on {owners.Values.Distinct().Count()} nodes"));
        report.Add(new Figure("override to 50 Mbit/s (vtsctl autocopy throttle, through the other node): rate at the target",
            $"{after * 8 / 1e6:F1} Mbit/s", "within ±10 % of the new limit", Stats.Met(Math.Abs(after / Throttled - 1) <= 0.10),
            $"{after / Throttled:P0} of it; from six to nine tenths of the bytes"));
        report.Add(new Figure("override → the target sees the new rate", overrideSeen is { } seen ? $"{seen:F1} s" : "not seen",
            "≤ 2 s", Stats.Met(overrideSeen is <= 2),
            "from the answer to the throttle until the rate over the last 0.5 s at the target is within 10 % of the new limit"));
        report.Note("The target is OpenSSH behind an emulated link of 1 Gbit/s and 2 ms (section 7's), whose forwarder counts " +
                    "the IP packets towards the target, headers and SSH's framing included (about 2 % over the tapes' bytes). The " +
                    "tapes' bytes are paced at the sending nodes, each transfer to its share of the limit: the limit split evenly " +
                    "over the transfers running on the whole cluster.");
    }

    /// <summary>Bytes per second at the target over the last <paramref name="seconds"/> of samples.</summary>
    private static double? RateOver(List<(double At, long Bytes)> samples, double seconds)
    {
        var last = samples[^1];
        var first = samples.LastOrDefault(s => s.At <= last.At - seconds);
        return first.At > 0 || first.Bytes > 0 ? (last.Bytes - first.Bytes) / (last.At - first.At) : null;
    }

    private static double RateBetween(List<(double At, long Bytes)> samples, long from, long to)
    {
        var a = samples.First(s => s.Bytes >= from);
        var b = samples.First(s => s.Bytes >= to);
        return (b.Bytes - a.Bytes) / (b.At - a.At);
    }
}
