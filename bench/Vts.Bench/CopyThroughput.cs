using System.Diagnostics;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>Goal 1: one large tape, dismount → verified at the target, against OpenSSH's sftp put of the same file
/// to the same loopback sshd in the same run.</summary>
public static class CopyThroughput
{
    public static async Task Run(Report report, string scratch, int tapeMiB, int runs)
    {
        report.Section($"1. Copy throughput: one {tapeMiB} MiB tape, loopback sshd (OpenSSH, internal-sftp)");
        await using var sshd = await Sshd.Create();
        var bytes = tapeMiB * 1024L * 1024;
        var vault = Path.Combine(scratch, "copy-vault");
        var source = Path.Combine(vault, "P000", "T00001");
        TapeFiles.Write(source, bytes);
        double MiBps(double seconds) => bytes / 1048576.0 / seconds;

        // OpenSSH: sftp put of the same file, with the cipher OpenSSH would pick fastest here.
        var knownHosts = Path.Combine(scratch, "known_hosts");
        await File.WriteAllTextAsync(knownHosts, $"[127.0.0.1]:{sshd.Port} {await File.ReadAllTextAsync(sshd.HostKey + ".pub")}");
        var batch = Path.Combine(scratch, "put.batch");
        var openSshTarget = Path.Combine(sshd.VaultRoot, "openssh.put");
        await File.WriteAllTextAsync(batch, $"put {source} {openSshTarget}\n");
        var openssh = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            File.Delete(openSshTarget);
            var clock = Stopwatch.StartNew();
            Machine.Run("sftp", "-q", "-b", batch, "-i", sshd.ClientKey, "-P", sshd.Port.ToString(),
                "-o", $"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes", "-o", "Ciphers=aes128-gcm@openssh.com",
                $"{sshd.User}@127.0.0.1");
            openssh.Add(clock.Elapsed.TotalSeconds);
            if (new FileInfo(openSshTarget).Length != bytes) throw new InvalidOperationException("sftp put did not copy the file");
        }
        var opensshSeconds = Stats.Median(openssh);
        report.Add(new Figure("OpenSSH `sftp put` (aes128-gcm), whole process, no verification", $"{MiBps(opensshSeconds):F0} MiB/s ({opensshSeconds:F2} s)", "peer", "-",
            $"median of {runs}"));

        // Ours, in process: the transport alone, with its verification at the target.
        var transport = new SftpTapeTransport();
        var target = sshd.Target();
        // Warm-up: a 32 MiB copy opens the session and lets the JIT optimise the hot loops, as on a node in service.
        TapeFiles.Write(Path.Combine(vault, "P000", "W00001"), 32L << 20);
        await transport.CopyAsync(new TransferRequest(Path.Combine(vault, "P000", "W00001"), target, PoolName.Parse("DRP000"), Volser.Parse("W00001")), default);
        var ours = new List<TransferOutcome.Succeeded>();
        for (var r = 0; r < runs; r++)
        {
            var outcome = await transport.CopyAsync(new TransferRequest(source, target, PoolName.Parse("DRP000"), Volser.Parse("T00001")), default);
            ours.Add(outcome as TransferOutcome.Succeeded ?? throw new InvalidOperationException($"copy failed: {outcome}"));
        }
        var oursSeconds = Stats.Median(ours.Select(o => o.Duration.TotalSeconds));
        var verifySeconds = Stats.Median(ours.Select(o => o.Verification.TotalSeconds));
        var ratio = opensshSeconds / oursSeconds;
        report.Add(new Figure("VtsActors transport: upload + SHA-256 verified at target + rename", $"{MiBps(oursSeconds):F0} MiB/s ({oursSeconds:F2} s)",
            "≥ 1.0× OpenSSH", Stats.Met(ratio >= 1.0), $"{ratio:F2}× OpenSSH; median of {runs}; session reused"));
        report.Add(new Figure("of which verification at the target", $"{verifySeconds:F2} s", "reported separately", "-",
            $"{verifySeconds / oursSeconds:P0} of the copy"));
        report.Add(new Figure("VtsActors transport without the verification", $"{MiBps(oursSeconds - verifySeconds):F0} MiB/s", "-", "-",
            $"{opensshSeconds / (oursSeconds - verifySeconds):F2}× OpenSSH"));

        // Whole node: EMS dismount → copy verified and renamed at the target.
        await using var node = new BenchNode(scratch, "copy-node", sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, sshd.VaultRoot);
        Directory.CreateDirectory(Path.Combine(node.Vault, "P000"));
        File.Move(source, Path.Combine(node.Vault, "P000", "T00001"));
        TapeFiles.Write(Path.Combine(node.Vault, "P000", "W00001"), 32L << 20);
        await node.Start();
        using var ems = new EmsClient(node.Ems);
        // A first small copy opens the node's session to the target, as it would be open on a node in service.
        await ems.Send(EmsClient.Dismount("warm-up", "P000", "W00001"));
        while (!File.Exists(Path.Combine(sshd.VaultRoot, "DRP000", "W00001"))) await Task.Delay(5);
        var final = Path.Combine(sshd.VaultRoot, "DRP000", "T00001");
        var whole = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            File.Delete(final);
            await ems.Send(EmsClient.Mount($"m-{r}", "P000", "T00001"));
            var clock = Stopwatch.StartNew();
            await ems.Send(EmsClient.Dismount($"d-{r}", "P000", "T00001"));
            while (!File.Exists(final)) await Task.Delay(5);
            whole.Add(clock.Elapsed.TotalSeconds);
        }
        var wholeSeconds = Stats.Median(whole);
        report.Add(new Figure("vts-node: EMS dismount → verified copy under its final name", $"{MiBps(wholeSeconds):F0} MiB/s ({wholeSeconds:F2} s)",
            "≥ 1.0× OpenSSH (stretch 1.3×)", Stats.Met(opensshSeconds / wholeSeconds >= 1.0), $"{opensshSeconds / wholeSeconds:F2}× OpenSSH; median of {runs}"));
    }
}
