using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Vts.Integration.Tests.Node;

/// <summary>Day two: `vtsctl autocopy reconcile` on a real node and target. Tapes that were in the pool before AutoCopy
/// saw them, a copy lost at the target, one of another size there, and one the target alone holds.</summary>
public sealed class ReconcileTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_dry_run_reports_the_differences_and_a_reconcile_makes_them_right_at_the_target()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        var targetPool = Path.Combine(sshd.VaultRoot, "DRPOOL1");
        Directory.CreateDirectory(targetPool);
        // Here and there alike; here only (never mounted since AutoCopy came, or lost there); another size there.
        var same = TapeFiles.Write(site.Tape("POOL1", "S00001"), 50_000, seed: 1);
        File.Copy(site.Tape("POOL1", "S00001"), Path.Combine(targetPool, "S00001"));
        var missing = new[] { "M00001", "M00002" }.ToDictionary(v => v, v => TapeFiles.Write(site.Tape("POOL1", v), 70_000, seed: v.GetHashCode()));
        var resized = TapeFiles.Write(site.Tape("POOL1", "Z00001"), 90_000, seed: 3);
        TapeFiles.Write(Path.Combine(targetPool, "Z00001"), 10_000, seed: 4);
        var extra = TapeFiles.Write(Path.Combine(targetPool, "X00001"), 1_000, seed: 5);
        // The same size there, one byte rotted: only a content check sees it (and the target hashes it in place).
        var rotted = TapeFiles.Write(site.Tape("POOL1", "C00001"), 80_000, seed: 6);
        File.Copy(site.Tape("POOL1", "C00001"), Path.Combine(targetPool, "C00001"));
        using (var file = File.OpenWrite(Path.Combine(targetPool, "C00001")))
        {
            file.Position = 40_000;
            file.WriteByte(0x5A);
        }
        File.CreateSymbolicLink(site.Tape("POOL1", "L00001"), "/etc/hostname"); // a link is no tape (R15)

        await using var node = NodeProcess.Start(site.ConfigFile);
        await node.WaitUntilReady(StartTimeout);
        Task<VtsCtl.Result> Ctl(params string[] args) => VtsCtl.Run(["--node", node.AdminNode, .. args]);

        var dry = (await Ctl("--json", "autocopy", "reconcile", "POOL1", "--dry-run")).Json;
        Assert.Equal((5, 4), (dry.GetProperty("sourceTapes").GetInt32(), dry.GetProperty("targetTapes").GetInt32()));
        Assert.Equal(("finished", "operator"), (dry.GetProperty("state").GetString(), dry.GetProperty("trigger").GetString()));
        Assert.Equal(0, dry.GetProperty("contentDiffers").GetArrayLength()); // sizes only
        Assert.Equal(["M00001", "M00002"], dry.GetProperty("missing").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["Z00001"], dry.GetProperty("sizeDiffers").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["X00001"], dry.GetProperty("onlyAtTarget").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(0, dry.GetProperty("made").GetInt32());
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "M00001")));
        Assert.Empty(site.JournalManifests("tape-POOL1-M00001")); // a dry run journals nothing
        var text = (await Ctl("autocopy", "reconcile", "POOL1", "--dry-run")).Out;
        Assert.Contains("missing at the target: 2  M00001 M00002", text);
        Assert.Contains("dry run: no copy made due", text);
        output.WriteLine($"$ vtsctl autocopy reconcile POOL1 --dry-run\n{text}");
        var verified = (await Ctl("--json", "autocopy", "reconcile", "POOL1", "--dry-run", "--verify-content")).Json;
        Assert.Equal(["C00001"], verified.GetProperty("contentDiffers").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["M00001", "M00002"], verified.GetProperty("missing").EnumerateArray().Select(v => v.GetString()));
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "M00001")));

        var made = await Ctl("autocopy", "reconcile", "POOL1", "--verify-content");
        output.WriteLine($"$ vtsctl autocopy reconcile POOL1 --verify-content\n{made.Out}");
        Assert.Matches(@"copies made due:\s+4\b", made.Out);
        foreach (var (volser, sha) in missing.Append(KeyValuePair.Create("Z00001", resized)).Append(KeyValuePair.Create("C00001", rotted)))
            await Wait.Until(() => File.Exists(Path.Combine(targetPool, volser)) && TapeFiles.Sha256(Path.Combine(targetPool, volser)) == sha,
                TimeSpan.FromSeconds(60), $"{volser} copied by the reconcile");
        Assert.Equal(same, TapeFiles.Sha256(Path.Combine(targetPool, "S00001")));
        Assert.Equal(extra, TapeFiles.Sha256(Path.Combine(targetPool, "X00001"))); // never deleted
        Assert.Equal(["tape.copy-requested.v1", "tape.attempt-started.v1", "tape.copied.v1"], site.JournalManifests("tape-POOL1-M00001"));
        await Wait.Until(() => site.EventLogLines().Count(l => l.Contains("|224021|")) == 4, TimeSpan.FromSeconds(30),
            "one event-log line per copy the reconcile made due");

        // Once right, a reconcile finds nothing to do.
        var again = (await Ctl("--json", "autocopy", "reconcile", "POOL1", "--verify-content")).Json;
        Assert.Equal((0, 0, 0, 0), (again.GetProperty("missing").GetArrayLength(), again.GetProperty("sizeDiffers").GetArrayLength(),
            again.GetProperty("contentDiffers").GetArrayLength(), again.GetProperty("made").GetInt32()));
        Assert.Contains("finished", (await Ctl("autocopy", "reconcile", "POOL1", "--status")).Out);
        Assert.Contains(site.EventLogLines(), l => l.Contains("|224024|") && l.Contains("(dry run) finished: 6 tapes checked"));
        Assert.NotEqual(0, (await Ctl("autocopy", "reconcile", "NOPOOL")).ExitCode);
    }

    [Fact]
    public async Task A_pools_audit_finds_a_copy_lost_at_the_target_says_so_and_copies_it_again()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: "autocopy.audit.interval = 2s");
        var sha = TapeFiles.Write(site.Tape("POOL1", "A00001"), 60_000, seed: 7);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        var copy = Path.Combine(sshd.VaultRoot, "DRPOOL1", "A00001");
        Assert.True((await ems.Send(EmsClient.Dismount("a-1", "POOL1", "A00001"))).TryGetProperty("ack", out _));
        await Wait.Until(() => File.Exists(copy), TimeSpan.FromSeconds(60), "the dismount's copy");

        File.Delete(copy); // an operator's rm at the disaster-recovery site
        await Wait.Until(() => File.Exists(copy) && TapeFiles.Sha256(copy) == sha, TimeSpan.FromSeconds(60), "the copy made again by an audit");
        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|424022|") && l.Contains("1 missing there") && l.Contains("1 copies made due")),
            TimeSpan.FromSeconds(30), "the audit's warning");
        Assert.Contains("tape.copy-requested.v1", site.JournalManifests("tape-POOL1-A00001"));
        var metrics = await new HttpClient().GetStringAsync($"{node.AdminUrl}/metrics");
        Assert.Contains("vts_audit_last_timestamp_seconds{pool=\"POOL1\"}", metrics);
        // The status page's feed and `autocopy pools` show the pool's last audit.
        var pool = (await VtsCtl.Run("--node", node.AdminNode, "--json", "autocopy", "pools")).Json[0];
        Assert.Equal(("audit", "finished"), (pool.GetProperty("lastAudit").GetProperty("trigger").GetString(),
            pool.GetProperty("lastAudit").GetProperty("state").GetString()));
        Assert.Contains("Last audit", (await VtsCtl.Run("--node", node.AdminNode, "autocopy", "pools")).Out);
    }

    /// <summary>A content check of a large pool is long: it is journaled slice by slice, goes on where it was after the
    /// node is killed, and can be cancelled. 6,000 small tapes (a few seconds' work), every 200th rotted at the target.</summary>
    [Fact]
    public async Task A_reconcile_survives_a_node_killed_mid_pool_counting_nothing_twice_and_can_be_cancelled()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        var targetPool = Directory.CreateDirectory(Path.Combine(sshd.VaultRoot, "DRPOOL1")).FullName;
        Directory.CreateDirectory(Path.Combine(site.Vault, "POOL1"));
        var bytes = new byte[1024];
        for (var i = 0; i < 6000; i++)
        {
            await File.WriteAllBytesAsync(site.Tape("POOL1", $"V{i:D5}"), bytes);
            await File.WriteAllBytesAsync(Path.Combine(targetPool, $"V{i:D5}"), i % 200 == 0 ? Enumerable.Repeat((byte)1, 1024).ToArray() : bytes);
        }

        async Task<System.Text.Json.JsonElement> Status(NodeProcess node) =>
            (await VtsCtl.Run("--node", node.AdminNode, "--json", "autocopy", "reconcile", "POOL1", "--status")).Json;
        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            await node.WaitUntilReady(StartTimeout);
            var started = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "reconcile", "POOL1", "--dry-run", "--verify-content", "--no-wait");
            Assert.Contains("reconcile of pool POOL1 started", started.Out);
            await Wait.Until(async () => (await Status(node)).GetProperty("checked").GetInt32() > 0, TimeSpan.FromSeconds(60), "a slice checked");
            await node.Kill();
        }
        var before = site.JournalManifests("reconcile-POOL1");
        Assert.Equal(["reconcile.started.v1"], before.Where(m => m != "reconcile.checked.v1"));

        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            await node.WaitUntilReady(StartTimeout);
            await Wait.Until(async () => (await Status(node)).GetProperty("state").GetString() == "finished", TimeSpan.FromSeconds(120),
                "the reconcile finished after the restart");
            var done = await Status(node);
            Assert.Equal((6000, 6000), (done.GetProperty("checked").GetInt32(), done.GetProperty("total").GetInt32()));
            Assert.Equal(30, done.GetProperty("contentDiffersCount").GetInt32()); // a slice checked twice would count its rotted tape twice
            Assert.Equal(Enumerable.Range(0, 30).Select(i => $"V{i * 200:D5}"), done.GetProperty("contentDiffers").EnumerateArray().Select(v => v.GetString()));
            Assert.Single(site.JournalManifests("reconcile-POOL1"), "reconcile.started.v1");

            // A second one, cancelled while it runs: it says how far it got, and a third may start.
            Assert.Equal(0, (await VtsCtl.Run("--node", node.AdminNode, "autocopy", "reconcile", "POOL1", "--verify-content", "--dry-run", "--no-wait")).ExitCode);
            await Wait.Until(async () => (await Status(node)) is var s && s.GetProperty("state").GetString() == "running" && s.GetProperty("checked").GetInt32() > 0,
                TimeSpan.FromSeconds(60), "the second reconcile under way");
            var cancel = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "reconcile", "POOL1", "--cancel");
            Assert.Equal(0, cancel.ExitCode);
            Assert.Matches(@"cancelled after \d+ of 6000 tapes checked", cancel.Out);
            Assert.Equal("cancelled", (await Status(node)).GetProperty("state").GetString());
            Assert.NotEqual(0, (await VtsCtl.Run("--node", node.AdminNode, "autocopy", "reconcile", "POOL1", "--cancel")).ExitCode); // none runs
            await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|224024|") && l.Contains("cancelled after")), TimeSpan.FromSeconds(30),
                "the cancel in the event log");
        }
    }

    [Fact]
    public async Task Copies_a_reconcile_made_due_survive_a_node_killed_before_they_ran()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        var shas = Enumerable.Range(1, 3).ToDictionary(i => $"K0000{i}", i => TapeFiles.Write(site.Tape("POOL1", $"K0000{i}"), 40_000, seed: i));
        // The target pool can be listed but not written (a read-only file system): every attempt fails until it is writable.
        var targetPool = Path.Combine(sshd.VaultRoot, "DRPOOL1");
        Directory.CreateDirectory(targetPool);
        await Sshd.Run("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", targetPool);
        try
        {
            await using (var node = NodeProcess.Start(site.ConfigFile))
            {
                await node.WaitUntilReady(StartTimeout);
                var run = (await VtsCtl.Run("--node", node.AdminNode, "--json", "autocopy", "reconcile", "POOL1")).Json;
                Assert.Equal(3, run.GetProperty("made").GetInt32());
                await node.Kill();
            }
        }
        finally
        {
            await Sshd.Run("umount", "-l", targetPool);
        }
        Assert.Equal(3, site.JournalManifests("pool-POOL1").Count(m => m == "pool.activated.v1")); // the pool knows to wake them
        await using var again = NodeProcess.Start(site.ConfigFile);
        await again.WaitUntilReady(StartTimeout);
        foreach (var (volser, sha) in shas)
        {
            var copy = Path.Combine(targetPool, volser);
            await Wait.Until(() => File.Exists(copy) && TapeFiles.Sha256(copy) == sha, TimeSpan.FromSeconds(60), $"{volser} copied after the restart");
        }
    }
}
