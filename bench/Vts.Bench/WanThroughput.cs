using System.Diagnostics;
using System.Net.Sockets;
using Vts.Testing;
using Vts.Testing.Wan;

namespace Vts.Bench;

/// <summary>Section 7: a copy to a disaster-recovery site, far away behind a thin link (an emulated WAN, see
/// <see cref="WanLink"/>): vts-node, EMS dismount → verified at the target, against OpenSSH's sftp put of the same
/// file over the same link, rounds interleaved.</summary>
public static class WanThroughput
{
    /// <param name="SftpOnly">also a node whose target is `sftp-only` (one round).</param>
    private sealed record Link(TimeSpan RoundTrip, long BitsPerSecond, int TapeMiB, int Rounds, bool Goal, bool SftpOnly = false);

    public static readonly string[] Parts = ["links", "resume"];

    public static async Task Run(Report report, string scratch, bool quick, IReadOnlySet<string> parts)
    {
        report.Section("7. Copy throughput at disaster-recovery distance (emulated WAN link)");
        Link[] links = quick
            ? [new(TimeSpan.FromMilliseconds(50), 400_000_000, 256, 1, true, SftpOnly: true)]
            :
            [
                new(TimeSpan.FromMilliseconds(50), 400_000_000, 256, 3, true, SftpOnly: true),
                new(TimeSpan.FromMilliseconds(50), 400_000_000, 2048, 1, true, SftpOnly: true),
                new(TimeSpan.FromMilliseconds(10), 100_000_000, 256, 2, false, SftpOnly: true),
                new(TimeSpan.FromMilliseconds(100), 1_000_000_000, 256, 2, false, SftpOnly: true),
            ];
        if (parts.Contains("links"))
            foreach (var link in links) await Measure(report, scratch, link);
        if (parts.Contains("resume")) await Resume(report, scratch, quick ? 256 : 2048);
        if (parts.Contains("timeline")) await Timeline(scratch, quick ? 256 : 2048);
        report.Note("The link: two TUN devices, one in a network namespace of its own where the target's sshd runs, joined by a forwarder " +
                    "in the bench process that holds each packet for half the round trip and lets it through at the link's rate behind a queue " +
                    "of one bandwidth-delay product (`tests/Vts.Testing/Wan`). MTU 9000. TCP sees a real round trip, queueing and loss.");
        report.Note("Rate is the tape's size over the time from the dismount's ack to the file under its final name at the target (proven " +
                    "by SHA-256); OpenSSH's is `sftp put` of the same file, whole process, no verification. Both ends, the forwarder and the " +
                    "hashes share this machine's 2 cores.");
    }

    private static async Task Measure(Report report, string scratch, Link link)
    {
        await using var wan = await WanLink.Create(link.RoundTrip, link.BitsPerSecond);
        await using var sshd = await Sshd.Create(behind: wan);
        var name = $"wan-{link.RoundTrip.TotalMilliseconds:F0}ms-{link.TapeMiB}";
        var bytes = link.TapeMiB * 1024L * 1024;
        var linkBytesPerSecond = link.BitsPerSecond / 8.0;
        string Rate(double seconds, long? of = null) => $"{(of ?? bytes) / 1e6 / seconds:F1} MB/s";

        await using var node = new BenchNode(scratch, name, sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, sshd.VaultRoot,
            host: sshd.Host);
        var source = Path.Combine(node.Vault, "P000", "T00001");
        TapeFiles.Write(source, bytes);
        TapeFiles.Write(Path.Combine(node.Vault, "P000", "W00001"), 128L << 20); // as many ranges as a large tape

        var rawBytes = Math.Min(bytes, 128L << 20);
        var raw = await RawTcp(wan, rawBytes);

        var openSsh = await OpenSshPut.For(sshd, source, node.Dir);

        await node.Start();
        using var ems = new EmsClient(node.Ems);
        // A first copy opens the node's sessions to the target, as on a node in service.
        await ems.Send(EmsClient.Dismount("warm-up", "P000", "W00001"));
        await Wait.Until(() => File.Exists(Path.Combine(sshd.VaultRoot, "DRP000", "W00001")), TimeSpan.FromMinutes(5), "the warm-up copy");
        var final = Path.Combine(sshd.VaultRoot, "DRP000", "T00001");

        async Task<double> NodeCopy(int r) => await CopyThrough(ems, $"{r}", final);

        var openssh = new List<double>();
        var ours = new List<double>();
        for (var r = 0; r < link.Rounds; r++)
        {
            Machine.Run("sync");
            openssh.Add(openSsh.Run());
            Machine.Run("sync");
            ours.Add(await NodeCopy(r));
        }
        var ratios = openssh.Zip(ours, (o, n) => o / n).ToList();
        var ratio = Stats.Median(ratios);
        var share = bytes / Stats.Median(ours) / linkBytesPerSecond;
        var label = $"{link.RoundTrip.TotalMilliseconds:F0} ms, {link.BitsPerSecond / 1e6:F0} Mbit/s, {link.TapeMiB} MiB";
        report.Add(new Figure($"{label}: raw TCP through the link", Rate(raw, rawBytes), "-", "-",
            $"{rawBytes / raw / linkBytesPerSecond:P0} of the link; one connection, what the emulated link itself carries"));
        report.Add(new Figure($"{label}: OpenSSH `sftp put`", Rate(Stats.Median(openssh)), "peer", "-",
            $"median of {link.Rounds}; {bytes / Stats.Median(openssh) / linkBytesPerSecond:P0} of the link"));
        report.Add(new Figure($"{label}: vts-node, dismount → verified under its final name", Rate(Stats.Median(ours)),
            link.Goal ? "≥ 1.5× OpenSSH and ≥ 80 % of the link" : "report", link.Goal ? Stats.Met(ratio >= 1.5 && share >= 0.8) : "-",
            $"{ratio:F2}× OpenSSH, {share:P0} of the link; rounds: {string.Join(", ", ratios.Select(x => x.ToString("F2")))}×"));
        if (!link.SftpOnly) return;

        // The same tape to the same target configured `sftp-only`: SFTP alone, each block read back as soon as it is written.
        await node.DisposeAsync();
        await using var sftpNode = new BenchNode(scratch, name + "-sftp-only", sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint,
            sshd.VaultRoot, host: sshd.Host, targetExtra: "sftp-only = on");
        Directory.CreateDirectory(Path.Combine(sftpNode.Vault, "P000"));
        File.Copy(source, Path.Combine(sftpNode.Vault, "P000", "T00001"));
        TapeFiles.Write(Path.Combine(sftpNode.Vault, "P000", "W00002"), 128L << 20); // as many connections as a large tape
        await sftpNode.Start();
        using var sftpEms = new EmsClient(sftpNode.Ems);
        await sftpEms.Send(EmsClient.Dismount("warm-up", "P000", "W00002")); // opens the sessions, as on a node in service
        await Wait.Until(() => File.Exists(Path.Combine(sshd.VaultRoot, "DRP000", "W00002")), TimeSpan.FromMinutes(5), "the warm-up copy");
        Machine.Run("sync");
        const string readBackSum = "vts_copy_verification_seconds_sum";
        const string readBackLabels = "target=\"dr\",proof=\"read-back\"";
        var readBackBefore = await sftpNode.Metric(readBackSum, readBackLabels);
        var sftpOnly = await CopyThrough(sftpEms, "sftp-only", final);
        // The wait for the read-back after the last byte, as the node counts it (the copy's entry in the event log says it too).
        var readBack = 0.0; // counted as the copy is journaled, just after its rename
        await Wait.Until(async () => (readBack = await sftpNode.Metric(readBackSum, readBackLabels) - readBackBefore) > 0,
            TimeSpan.FromSeconds(30), "the read-back counted");
        var sftpShare = bytes / sftpOnly / linkBytesPerSecond;
        report.Add(new Figure($"{label}: vts-node to an `sftp-only` target, dismount → read back and verified under its final name",
            Rate(sftpOnly), link.Goal ? "≥ 80 % of the link" : "report", link.Goal ? Stats.Met(sftpShare >= 0.8) : "-",
            $"{Stats.Median(openssh) / sftpOnly:F2}× OpenSSH, {sftpShare:P0} of the link; one round; of its {sftpOnly:F1} s, {readBack:F1} s " +
            "waiting for the read-back after the last byte; blocks read back as they are written, over a connection per 25 ms of round " +
            "trip (up to 4: one carries SSH.NET's own upload, several 48 SFTP write handles each)"));
    }

    /// <summary>Seconds from a dismount's ack to the copy under its final name at the target.</summary>
    private static async Task<double> CopyThrough(EmsClient ems, string round, string final)
    {
        if (File.Exists(final)) File.Delete(final);
        await ems.Send(EmsClient.Mount($"m-{round}", "P000", "T00001"));
        var clock = Stopwatch.StartNew();
        await ems.Send(EmsClient.Dismount($"d-{round}", "P000", "T00001"));
        await Wait.Until(() => File.Exists(final), TimeSpan.FromMinutes(30), "the copy at the target");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>R17: the link cut at 80 % of a large tape; how much of the tape crosses the link again when the next
    /// attempt runs. The transport in process, as a node's tape actor drives it.</summary>
    private static async Task Resume(Report report, string scratch, int tapeMiB)
    {
        await using var wan = await WanLink.Create(TimeSpan.FromMilliseconds(50), 400_000_000);
        await using var sshd = await Sshd.Create(behind: wan);
        var bytes = tapeMiB * 1024L * 1024;
        var source = Path.Combine(scratch, "resume", "P000", "R00001");
        TapeFiles.Write(source, bytes);
        // A short operation timeout, so that the stalled attempt ends within seconds (1.5× it).
        var target = sshd.Target() with { OperationTimeout = TimeSpan.FromSeconds(15) };
        var request = new Vts.AutoCopy.Transport.TransferRequest(source, target, Vts.AutoCopy.Domain.PoolName.Parse("DRP000"),
            Vts.AutoCopy.Domain.Volser.Parse("R00001"));
        var transport = new Vts.AutoCopy.Transport.SftpTapeTransport();
        Vts.AutoCopy.Transport.TransferThreads.Reserve(1); // as a node does

        var start = wan.BytesOut;
        var first = transport.CopyAsync(request, CancellationToken.None);
        await Wait.Until(() => wan.BytesOut - start >= bytes * 8 / 10 || first.IsCompleted, TimeSpan.FromMinutes(10), "80 % of the tape sent");
        wan.Cut();
        var firstSent = wan.BytesOut - start;
        var cut = await first.WaitAsync(TimeSpan.FromMinutes(5));
        wan.Restore();
        if (cut is not Vts.AutoCopy.Transport.TransferOutcome.Failed) throw new InvalidOperationException($"the cut attempt ended {cut}");

        var before = wan.BytesOut;
        var clock = Stopwatch.StartNew();
        var second = await transport.CopyAsync(request, CancellationToken.None) as Vts.AutoCopy.Transport.TransferOutcome.Succeeded
                     ?? throw new InvalidOperationException("the resumed attempt failed");
        var secondSent = wan.BytesOut - before;
        // What crossed the link twice: both attempts together, less the tape once (packet headers count too, ~1 %).
        var twice = Math.Max(0, firstSent + secondSent - bytes);
        var share = twice / (double)bytes;
        report.Add(new Figure($"resume: link cut at 80 % of a {tapeMiB} MiB tape (50 ms, 400 Mbit/s); bytes sent again",
            $"{twice / 1048576.0:F0} MiB ({share:P1} of the tape)", "≤ 10 %", Stats.Met(share <= 0.10),
            $"the first attempt sent {firstSent / 1048576.0:F0} MiB before the cut, the next {secondSent / 1048576.0:F0} MiB, and took " +
            $"{second.Resumed / 1048576.0:F0} MiB from the earlier attempt's file at the target, proven piece by piece there; " +
            $"the resumed attempt took {clock.Elapsed.TotalSeconds:F1} s; IP packets counted, headers included"));
    }

    /// <summary>Not in a full run (<c>--wan timeline</c>): the transport in process copying one tape over the 50 ms link
    /// twice (the first opens the sessions), the link's bytes towards the target sampled every 100 ms and printed: where
    /// a copy leaves the link idle.</summary>
    private static async Task Timeline(string scratch, int tapeMiB)
    {
        await using var wan = await WanLink.Create(TimeSpan.FromMilliseconds(50), 400_000_000);
        await using var sshd = await Sshd.Create(behind: wan);
        var bytes = tapeMiB * 1024L * 1024;
        var source = Path.Combine(scratch, "timeline", "P000", "L00001");
        TapeFiles.Write(source, bytes);
        var request = new Vts.AutoCopy.Transport.TransferRequest(source, sshd.Target(), Vts.AutoCopy.Domain.PoolName.Parse("DRP000"),
            Vts.AutoCopy.Domain.Volser.Parse("L00001"));
        var transport = new Vts.AutoCopy.Transport.SftpTapeTransport();
        Vts.AutoCopy.Transport.TransferThreads.Reserve(1); // as a node does
        for (var round = 1; round <= 3; round++)
        {
            if (Directory.Exists(Path.Combine(sshd.VaultRoot, "DRP000"))) File.Delete(Path.Combine(sshd.VaultRoot, "DRP000", "L00001"));
            Machine.Run("sync");
            var samples = new List<(double At, long Bytes)>();
            var clock = Stopwatch.StartNew();
            var start = wan.BytesOut;
            var copy = transport.CopyAsync(request, CancellationToken.None);
            while (!copy.IsCompleted)
            {
                samples.Add((clock.Elapsed.TotalSeconds, wan.BytesOut - start));
                await Task.WhenAny(copy, Task.Delay(100));
            }
            var outcome = await copy;
            Console.WriteLine($"round {round}: {outcome} in {clock.Elapsed.TotalSeconds:F2} s, {bytes / 1e6 / clock.Elapsed.TotalSeconds:F1} MB/s");
            for (var i = 1; i < samples.Count; i++)
            {
                var rate = (samples[i].Bytes - samples[i - 1].Bytes) / 1e6 / (samples[i].At - samples[i - 1].At);
                Console.WriteLine($"  {samples[i].At,6:F2} s {samples[i].Bytes / 1048576.0,8:F1} MiB {rate,6:F1} MB/s {new string('#', (int)(rate / 2))}");
            }
        }
    }

    /// <summary>Seconds to push <paramref name="bytes"/> over one plain TCP connection to a sink at the far side.</summary>
    private static async Task<double> RawTcp(WanLink wan, long bytes)
    {
        var port = Sshd.FreePort();
        var (file, args) = wan.InNamespace("/usr/bin/python3", "-c",
            $"import socket\ns=socket.create_server(('{wan.Far}',{port}))\nc,_=s.accept()\nwhile c.recv(1<<20): pass\n");
        using var sink = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        try
        {
            using var client = new TcpClient();
            await Wait.Until(async () =>
            {
                try { await client.ConnectAsync(wan.Far, port); return true; }
                catch (SocketException) { return false; }
            }, TimeSpan.FromSeconds(10), "the sink at the far side");
            var buffer = new byte[1 << 20];
            var stream = client.GetStream();
            var clock = Stopwatch.StartNew();
            for (var sent = 0L; sent < bytes; sent += buffer.Length) await stream.WriteAsync(buffer);
            client.Client.Shutdown(SocketShutdown.Send);
            await sink.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            if (!sink.HasExited) sink.Kill();
        }
    }
}
