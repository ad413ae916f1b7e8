using System.Text.Json;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>Goal 3: from an EMS dismount to its transfer's start, with a free slot: the journaled times of
/// DismountRecorded and AttemptStarted, read back from the journal through the admin API.</summary>
public static class DismountToStart
{
    public static async Task Run(Report report, string scratch, int tapes)
    {
        report.Section("3. Dismount → transfer start, with a free slot");
        await using var sshd = await Sshd.Create();
        await using var node = new BenchNode(scratch, "latency-node", sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, sshd.VaultRoot);
        Directory.CreateDirectory(Path.Combine(node.Vault, "P000"));
        for (var i = 0; i < tapes; i++) TapeFiles.Write(Path.Combine(node.Vault, "P000", $"L{i:D5}"), 64 * 1024, i);
        await node.Start();
        using var ems = new EmsClient(node.Ems);
        using var http = new HttpClient();
        var delays = new List<double>();
        for (var i = 0; i < tapes; i++)
        {
            var volser = $"L{i:D5}";
            await ems.Send(EmsClient.Mount($"m-{i}", "P000", volser));
            await ems.Send(EmsClient.Dismount($"d-{i}", "P000", volser));
            var final = Path.Combine(sshd.VaultRoot, "DRP000", volser);
            while (!File.Exists(final)) await Task.Delay(5); // one at a time: the slot is free for the next
            var events = JsonDocument.Parse(await http.GetStringAsync($"{node.Process!.AdminUrl}/api/journal/events/tape-P000-{volser}")).RootElement;
            DateTimeOffset At(string manifest) => events.EnumerateArray().First(e => e.GetProperty("manifest").GetString() == manifest)
                .GetProperty("event").GetProperty("at").GetDateTimeOffset();
            delays.Add((At("tape.attempt-started.v1") - At("tape.dismount.v1")).TotalMilliseconds);
        }
        report.Add(new Figure("dismount → transfer start p50", $"{Stats.Median(delays):F1} ms", "≤ 50 ms", Stats.Met(Stats.Median(delays) <= 50),
            $"p90 {Stats.Percentile(delays, 90):F1} ms, max {delays.Max():F1} ms; {tapes} tapes of 64 KiB"));
        report.Note("Measured on the node's own clock between the two journaled facts: the dismount's journal write, " +
                    "the slot request and grant, and the AttemptStarted journal write.");
    }
}
