using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>#14's goal: a reconcile of a pool of 100,000 small tapes with 1 % drift (half missing at the target, half
/// of another size there): the comparison's report, and every repair made due (journaled), on one node.</summary>
public static class ReconcileBench
{
    public static async Task Run(Report report, string scratch, int tapes)
    {
        report.Section("9. Reconcile a pool with its target pool");
        await using var sshd = await Sshd.Create();
        await using var node = new BenchNode(scratch, "reconcile-node", sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, sshd.VaultRoot);
        var source = Directory.CreateDirectory(Path.Combine(node.Vault, "P000")).FullName;
        var target = Directory.CreateDirectory(Path.Combine(sshd.VaultRoot, "DRP000")).FullName;
        var bytes = new byte[1024];
        var drift = tapes / 100;
        for (var i = 0; i < tapes; i++)
        {
            var volser = $"R{i:D5}";
            await File.WriteAllBytesAsync(Path.Combine(source, volser), bytes);
            if (i % 200 == 0) continue;                                                                           // missing at the target
            await File.WriteAllBytesAsync(Path.Combine(target, volser), i % 200 == 100 ? bytes[..512] : bytes); // another size there
        }
        await node.Start();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        // The node answers once the reconcile has started; it is followed to its end as vtsctl does.
        async Task<(JsonElement Reply, double Seconds)> Reconcile(bool dryRun, bool verifyContent = false)
        {
            var clock = Stopwatch.StartNew();
            var address = $"{node.Process!.AdminUrl}/api/pools/P000/reconcile";
            using (var started = await http.PostAsJsonAsync(address, new { dryRun, verifyContent })) started.EnsureSuccessStatusCode();
            while (true)
            {
                var reply = JsonDocument.Parse(await http.GetStringAsync(address)).RootElement.Clone();
                if (reply.GetProperty("state").GetString() != "running") return (reply, clock.Elapsed.TotalSeconds);
                await Task.Delay(100);
            }
        }

        var (dry, drySeconds) = await Reconcile(dryRun: true);
        var found = dry.GetProperty("missingCount").GetInt32() + dry.GetProperty("sizeDiffersCount").GetInt32();
        report.Add(new Figure($"reconcile report, {tapes:N0} tapes, {found:N0} differences (dry run)", $"{drySeconds:F1} s", "≤ 60 s",
            Stats.Met(drySeconds <= 60 && found == drift),
            $"{dry.GetProperty("missingCount").GetInt32():N0} missing, {dry.GetProperty("sizeDiffersCount").GetInt32():N0} of another size; both sides listed once, progress journaled every 500 tapes"));
        var (run, runSeconds) = await Reconcile(dryRun: false);
        var made = run.GetProperty("made").GetInt32();
        report.Add(new Figure($"reconcile → all {drift:N0} repairs due (journaled)", $"{runSeconds:F1} s", "-", "-",
            $"{made:N0} copies made due; the listing again, then one journaled request per difference"));
        var (verified, verifiedSeconds) = await Reconcile(dryRun: true, verifyContent: true);
        report.Add(new Figure($"reconcile --verify-content (dry run), {tapes:N0} tapes", $"{verifiedSeconds:F1} s", "-", "-",
            $"{verified.GetProperty("checked").GetInt32() / verifiedSeconds:N0} tapes/s hashed on both sides; the target hashes 64 " +
            "tapes to a process, nothing read back"));
        report.Note("Tapes of 1 KiB on this machine's disk, the target a real sshd on loopback. The content check of tapes this small measures the per-tape costs (a process start per 64 at the target, a journal write per slice); on real tapes hashing dominates.");
    }
}
