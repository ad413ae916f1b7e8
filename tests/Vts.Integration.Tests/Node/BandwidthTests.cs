using System.Diagnostics;
using System.Text.Json;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Vts.Integration.Tests.Node;

/// <summary>docs/configuration.md on one real node: a target's bandwidth limit paces its copies, the running transfer's progress is
/// shown, and an operator's override is journaled (it outlives a restart).</summary>
public sealed class BandwidthTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private const long Limit = 5_000_000; // 40Mbit/s

    [Fact]
    public async Task A_limit_paces_the_copy_its_progress_shows_and_an_override_outlives_a_restart()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, targetExtra: "bandwidth { limit = 40Mbit/s }");
        const long size = 20L << 20;
        var sha = TapeFiles.Write(site.Tape("POOL1", "L00001"), size);
        var final = Path.Combine(sshd.VaultRoot, "DRPOOL1", "L00001");

        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
            var clock = Stopwatch.StartNew();
            Assert.True((await ems.Send(EmsClient.Dismount("d-1", "POOL1", "L00001"))).TryGetProperty("ack", out _));

            // While it runs: the target's limit and its source, the transfer with bytes done, its rate and share.
            JsonElement running = default;
            await Wait.Until(async () =>
            {
                var targets = (await VtsCtl.Run("--node", node.AdminNode, "--json", "autocopy", "targets")).Json;
                running = targets[0];
                return running.GetProperty("transfers").GetArrayLength() == 1
                       && running.GetProperty("transfers")[0].GetProperty("done").GetInt64() > 0;
            }, TimeSpan.FromSeconds(30), "the transfer shown with bytes done");
            Assert.Equal(Limit, running.GetProperty("limit").GetInt64());
            Assert.Equal("40 Mbit/s", running.GetProperty("limitText").GetString());
            Assert.Equal("configuration", running.GetProperty("limitSource").GetString());
            var transfer = running.GetProperty("transfers")[0];
            Assert.Equal(("L00001", size, Limit), (transfer.GetProperty("volser").GetString(), transfer.GetProperty("total").GetInt64(),
                transfer.GetProperty("share").GetInt64()));
            var show = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "show", "POOL1", "L00001");
            Assert.Contains("Transfer", show.Out);
            Assert.Contains("of 20.00 MiB", show.Out);

            await Wait.Until(() => File.Exists(final), TimeSpan.FromSeconds(60), "the copy");
            var seconds = clock.Elapsed.TotalSeconds;
            output.WriteLine($"{size >> 20} MiB under a 40 Mbit/s limit: {seconds:F1} s, {size / seconds / 1e6:F2} MB/s");
            Assert.Equal(sha, TapeFiles.Sha256(final));
            // Unpaced, this copy takes well under a second on loopback; paced, no faster than the limit (10 % for the burst).
            Assert.True(size / seconds <= Limit * 1.1, $"{size / seconds:F0} B/s is over the limit of {Limit} B/s");

            var bad = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "throttle", "dr", "fast");
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains("'fast' is not a rate", bad.Out + bad.Err);
            var unknown = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "throttle", "nowhere", "5MB/s");
            Assert.Equal(1, unknown.ExitCode);
            Assert.Contains("no such target 'nowhere' (configured: dr)", unknown.Out + unknown.Err);
            var badFor = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "throttle", "dr", "5MB/s", "--for", "soon");
            Assert.Equal(1, badFor.ExitCode);
            Assert.Contains("'soon' is not a duration", badFor.Out + badFor.Err);

            var throttle = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "throttle", "dr", "80Mbit/s");
            Assert.Equal(0, throttle.ExitCode);
            Assert.Contains("limit 80 Mbit/s until changed again", throttle.Out);
            await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|224008|") && l.Contains("limit 80 Mbit/s")),
                TimeSpan.FromSeconds(30), "the operator's change in the event log");
            Assert.Equal(0, await node.Terminate(TimeSpan.FromSeconds(30)));
        }

        await using var restarted = NodeProcess.Start(site.ConfigFile);
        await restarted.WaitUntilReady(StartTimeout);
        await Wait.Until(async () =>
        {
            var target = (await VtsCtl.Run("--node", restarted.AdminNode, "--json", "autocopy", "targets")).Json[0];
            return target.GetProperty("limitSource").GetString() == "override" && target.GetProperty("limit").GetInt64() == 10_000_000;
        }, TimeSpan.FromSeconds(30), "the override read back from the journal after the restart");
        var table = await VtsCtl.Run("--node", restarted.AdminNode, "autocopy", "targets");
        Assert.Contains("80 Mbit/s", table.Out);
        Assert.Contains("override", table.Out);
    }
}
