using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Node;

/// <summary>Day two: `vtsctl autocopy reconcile` on a real node and target. Tapes that were in the pool before AutoCopy
/// saw them, a copy lost at the target, one of another size there, and one the target alone holds.</summary>
public sealed class ReconcileTests
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
        File.CreateSymbolicLink(site.Tape("POOL1", "L00001"), "/etc/hostname"); // a link is no tape (R15)

        await using var node = NodeProcess.Start(site.ConfigFile);
        await node.WaitUntilReady(StartTimeout);
        Task<VtsCtl.Result> Ctl(params string[] args) => VtsCtl.Run(["--node", node.AdminNode, .. args]);

        var dry = (await Ctl("--json", "autocopy", "reconcile", "POOL1", "--dry-run")).Json;
        Assert.Equal((4, 3), (dry.GetProperty("sourceTapes").GetInt32(), dry.GetProperty("targetTapes").GetInt32()));
        Assert.Equal(["M00001", "M00002"], dry.GetProperty("missing").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["Z00001"], dry.GetProperty("sizeDiffers").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(["X00001"], dry.GetProperty("onlyAtTarget").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(0, dry.GetProperty("made").GetInt32());
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "M00001")));
        Assert.Empty(site.JournalManifests("tape-POOL1-M00001")); // a dry run journals nothing
        var text = (await Ctl("autocopy", "reconcile", "POOL1", "--dry-run")).Out;
        Assert.Contains("missing at the target: 2  M00001 M00002", text);
        Assert.Contains("dry run: no copy made due", text);

        var run = (await Ctl("--json", "autocopy", "reconcile", "POOL1")).Json;
        Assert.Equal(3, run.GetProperty("made").GetInt32());
        foreach (var (volser, sha) in missing.Append(KeyValuePair.Create("Z00001", resized)))
            await Wait.Until(() => File.Exists(Path.Combine(targetPool, volser)) && TapeFiles.Sha256(Path.Combine(targetPool, volser)) == sha,
                TimeSpan.FromSeconds(60), $"{volser} copied by the reconcile");
        Assert.Equal(same, TapeFiles.Sha256(Path.Combine(targetPool, "S00001")));
        Assert.Equal(extra, TapeFiles.Sha256(Path.Combine(targetPool, "X00001"))); // never deleted
        Assert.Equal(["tape.copy-requested.v1", "tape.attempt-started.v1", "tape.copied.v1"], site.JournalManifests("tape-POOL1-M00001"));
        await Wait.Until(() => site.EventLogLines().Count(l => l.Contains("|224021|")) == 3, TimeSpan.FromSeconds(30),
            "one event-log line per copy the reconcile made due");

        // Once right, a reconcile finds nothing to do.
        var again = (await Ctl("--json", "autocopy", "reconcile", "POOL1")).Json;
        Assert.Equal((0, 0, 0), (again.GetProperty("missing").GetArrayLength(), again.GetProperty("sizeDiffers").GetArrayLength(), again.GetProperty("made").GetInt32()));
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
