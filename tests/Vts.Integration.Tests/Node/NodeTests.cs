using System.Diagnostics;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Vts.Integration.Tests.Node;

/// <summary>Whole vts-node processes against a real sshd: end to end, and killed with SIGKILL (R8).</summary>
public sealed class NodeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static Task Eventually(Func<bool> condition, TimeSpan timeout, string what) => Wait.Until(condition, timeout, what);

    [Fact]
    public async Task A_dismount_becomes_a_verified_copy_and_the_journal_holds_its_history()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        var sha = TapeFiles.Write(site.Tape("POOL1", "A00001"), 5 * 1024 * 1024);
        var noring = TapeFiles.Write(site.Tape("POOL2", "B00001"), 1024);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));

        // EMS text for one tape (pool found in the vault), JSON for the other.
        Assert.True((await ems.Send("$ZSVR: 0042 MOUNT A00001 ON $TAPE1 WITH RING")).TryGetProperty("ack", out _));
        Assert.True((await ems.Send("STATUS 1512 - A00001 TAPE DISMOUNTED FROM DRIVE $TAPE1")).TryGetProperty("ack", out _));
        Assert.Equal("n-1", (await ems.Send(EmsClient.Mount("n-1", "POOL2", "B00001", "noring"))).GetProperty("ack").GetString());
        Assert.Equal("n-2", (await ems.Send(EmsClient.Dismount("n-2", "POOL2", "B00001"))).GetProperty("ack").GetString());

        var copy = Path.Combine(sshd.VaultRoot, "DRPOOL1", "A00001");
        await Eventually(() => File.Exists(copy), TimeSpan.FromSeconds(60), "the copy at the target");
        Assert.Equal(sha, TapeFiles.Sha256(copy));
        await Eventually(() => site.EventLogLines().Any(l => l.Contains("|224001|")), TimeSpan.FromSeconds(10), "the event log entry");
        Assert.Contains(site.EventLogLines(), l => l.Contains("|224001|") && l.Contains("POOL1/A00001") && l.Contains(sha));
        Assert.All(site.EventLogLines(), l => Assert.True(l.Length <= 255));
        Assert.Equal(
            ["tape.mount.v1", "tape.dismount.v1", "tape.attempt-started.v1", "tape.copied.v1"],
            site.JournalManifests("tape-POOL1-A00001"));
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL2", "B00001")), $"no copy after a NO RING mount ({noring})");
    }

    [Fact]
    public async Task R10_An_sftp_only_target_whose_key_runs_nothing_but_SFTP_gets_small_and_large_tapes_proven_by_reading_back()
    {
        await using var sshd = await Sshd.Create();
        await sshd.RestrictToSftp();
        using var site = new NodeSite(sshd, targetExtra: "sftp-only = on");
        var small = TapeFiles.Write(site.Tape("POOL1", "S00001"), 1 << 20);
        var large = TapeFiles.Write(site.Tape("POOL1", "S00002"), (64L << 20) + 4321, seed: 2);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        Assert.True((await ems.Send(EmsClient.Dismount("s-1", "POOL1", "S00001"))).TryGetProperty("ack", out _));
        Assert.True((await ems.Send(EmsClient.Dismount("s-2", "POOL1", "S00002"))).TryGetProperty("ack", out _));

        await Eventually(() => site.EventLogLines().Count(l => l.Contains("|224001|")) == 2, TimeSpan.FromSeconds(90), "both copies");
        Assert.Equal(small, TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, "DRPOOL1", "S00001")));
        Assert.Equal(large, TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, "DRPOOL1", "S00002")));
        // Nothing but SFTP at the target: each copy proven by reading it back, in the first attempt.
        Assert.All(site.EventLogLines().Where(l => l.Contains("|224001|")), l => Assert.Contains("proven by reading it back", l));
        Assert.DoesNotContain(site.EventLogLines(), l => l.Contains("|424003|"));
        Assert.Equal(["tape.dismount.v1", "tape.attempt-started.v1", "tape.copied.v1"], site.JournalManifests("tape-POOL1-S00002"));
    }

    [Fact]
    public async Task R15_FIFOs_and_links_named_like_tapes_fail_at_once_as_security_entries_and_hold_no_transfer_slot()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, maxAttempts: 1, slots: 2);
        foreach (var volser in new[] { "F00001", "F00002" })
            Assert.Equal(0, Mono.Unix.Native.Syscall.mkfifo(site.Tape("POOL1", volser), Mono.Unix.Native.FilePermissions.DEFFILEMODE));
        File.CreateSymbolicLink(site.Tape("POOL1", "L00001"), "/etc/hostname");
        var sha = TapeFiles.Write(site.Tape("POOL1", "R00001"), 1 << 20);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        var n = 0;
        foreach (var volser in new[] { "F00001", "F00002", "L00001", "R00001" })
            Assert.True((await ems.Send(EmsClient.Dismount($"x-{n++}", "POOL1", volser))).TryGetProperty("ack", out _), volser);

        // Both slots went to the FIFOs first; they come back at once, and the real tape is copied.
        await Eventually(() => File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "R00001")), TimeSpan.FromSeconds(60), "the real tape's copy");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, "DRPOOL1", "R00001")));
        await Eventually(() => site.EventLogLines().Count(l => l.Contains("|824009|")) == 3, TimeSpan.FromSeconds(30), "three security entries");
        Assert.Contains(site.EventLogLines(), l => l.Contains("|824009|") && l.Contains("F00001 is a FIFO"));
        Assert.Contains(site.EventLogLines(), l => l.Contains("|824009|") && l.Contains("L00001 is a symbolic link"));
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "L00001")));
        // The tape actor still answers: a mount of a FIFO's volser is journaled, not "not journaled in time".
        Assert.True((await ems.Send(EmsClient.Mount("x-m", "POOL1", "F00001"))).TryGetProperty("ack", out _));
    }

    [Fact]
    public async Task R15_A_final_name_at_the_target_held_by_a_link_or_a_folder_is_never_replaced_and_is_a_security_entry()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, maxAttempts: 1);
        var pool = Directory.CreateDirectory(Path.Combine(sshd.VaultRoot, "DRPOOL1")).FullName;
        var victim = Path.Combine(sshd.VaultRoot, "victim");
        File.WriteAllText(victim, "precious, not a tape");
        File.CreateSymbolicLink(Path.Combine(pool, "T00001"), victim);
        Directory.CreateDirectory(Path.Combine(pool, "T00002"));
        TapeFiles.Write(site.Tape("POOL1", "T00001"), 1 << 20);
        TapeFiles.Write(site.Tape("POOL1", "T00002"), 1 << 20, seed: 2);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        Assert.True((await ems.Send(EmsClient.Dismount("t-1", "POOL1", "T00001"))).TryGetProperty("ack", out _));
        Assert.True((await ems.Send(EmsClient.Dismount("t-2", "POOL1", "T00002"))).TryGetProperty("ack", out _));

        await Eventually(() => site.EventLogLines().Count(l => l.Contains("|824009|")) == 2, TimeSpan.FromSeconds(60), "two security entries");
        Assert.Contains(site.EventLogLines(), l => l.Contains("|824009|") && l.Contains("T00001") && l.Contains("is a symbolic link"));
        Assert.Contains(site.EventLogLines(), l => l.Contains("|824009|") && l.Contains("T00002") && l.Contains("is a folder"));
        Assert.Equal("precious, not a tape", File.ReadAllText(victim));
        Assert.Equal(victim, new FileInfo(Path.Combine(pool, "T00001")).LinkTarget);
        Assert.True(Directory.Exists(Path.Combine(pool, "T00002")));
        Assert.Empty(Directory.GetFiles(pool, ".*.autocopy.tmp"));
    }

    [Fact]
    public async Task R17_A_node_killed_mid_copy_resumes_after_its_restart_from_what_the_target_holds_and_says_how_much()
    {
        await using var sshd = await Sshd.Create();
        // Paced so that the copy is still running when the node is killed with most of the tape at the target.
        using var site = new NodeSite(sshd, targetExtra: "bandwidth { limit = 40MiB/s }");
        const long length = 160L << 20;
        var sha = TapeFiles.Write(site.Tape("POOL1", "Z00001"), length, seed: 17);
        var pool = Path.Combine(sshd.VaultRoot, "DRPOOL1");
        long Written() => Directory.Exists(pool) ? TapeFiles.Temporary(pool, "Z00001").Select(f => new FileInfo(f).Length).DefaultIfEmpty(0).Max() : 0;

        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
            Assert.True((await ems.Send(EmsClient.Dismount("z-1", "POOL1", "Z00001"))).TryGetProperty("ack", out _));
            await Eventually(() => Written() >= 100L << 20, TimeSpan.FromSeconds(60), "100 MiB of the tape at the target");
            await node.Kill();
        }
        Assert.False(File.Exists(Path.Combine(pool, "Z00001")));
        await using var again = NodeProcess.Start(site.ConfigFile);
        await again.WaitUntilReady(StartTimeout);
        await Eventually(() => site.EventLogLines().Any(l => l.Contains("|224001|") && l.Contains("Z00001")), TimeSpan.FromSeconds(90), "the copy after the restart");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(pool, "Z00001")));
        var line = site.EventLogLines().Single(l => l.Contains("|224001|") && l.Contains("Z00001"));
        using var http = new HttpClient();
        var metrics = PrometheusText.Parse(await http.GetStringAsync($"{again.AdminUrl}/metrics"));
        var resumed = metrics.Single(m => m.Name == "vts_bytes_resumed_total" && m.Labels["target"] == "dr").Value;
        // At least one whole 32 MiB chunk the target held and proved (how many depends on what the killed attempt's
        // receiver was still writing when the next attempt looked), not the whole tape again.
        Assert.True(resumed >= 32L << 20, $"resumed {resumed} B of {length}: {line}");
        Assert.Contains($" ({resumed / 1048576.0:F1} MiB resumed)", line);
        Assert.Empty(TapeFiles.Temporary(pool, "Z00001"));
    }

    [Fact]
    public async Task A_target_that_stops_reading_fails_the_attempt_within_its_timeout_and_frees_the_slot_for_the_next_tape()
    {
        await using var sshd = await Sshd.Create();
        // One slot, so the second tape can only run once the stalled one has given it back; paced so that the first is
        // still sending when the target stops.
        using var site = new NodeSite(sshd, slots: 1, targetExtra: "operation-timeout = 2s\nbandwidth { limit = 20MiB/s }");
        var large = TapeFiles.Write(site.Tape("POOL1", "S00001"), 400L << 20, seed: 31); // still sending when the target stops
        var small = TapeFiles.Write(site.Tape("POOL1", "S00002"), 1 << 20, seed: 32);
        var pool = Path.Combine(sshd.VaultRoot, "DRPOOL1");
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        Assert.True((await ems.Send(EmsClient.Dismount("s-1", "POOL1", "S00001"))).TryGetProperty("ack", out _));
        await Eventually(() => Directory.Exists(pool) && TapeFiles.Temporary(pool, "S00001").Any(f => new FileInfo(f).Length >= 16 << 20),
            TimeSpan.FromSeconds(60), "16 MiB of S00001 at the target");

        // The target's sessions stop reading: the node's TCP window closes and its send blocks.
        await sshd.PauseSessions();
        try
        {
            Assert.True((await ems.Send(EmsClient.Dismount("s-2", "POOL1", "S00002"))).TryGetProperty("ack", out _));
            // Failed within the timeouts: by the stall watch ("stalled"), or by SSH.NET's own wait for the channel, whichever
            // comes first (both are bound by operation-timeout); never left hanging.
            await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("POOL1/S00001") && l.Contains("attempt 1 of")), TimeSpan.FromSeconds(30),
                () => $"S00001's first attempt failed; the event log:\n{string.Join('\n', site.EventLogLines())}");
            // Its slot came back: S00002 goes over a new session (the listener was not stopped) and arrives.
            await Eventually(() => File.Exists(Path.Combine(pool, "S00002")), TimeSpan.FromSeconds(60), "S00002 through the freed slot");
            Assert.Equal(small, TapeFiles.Sha256(Path.Combine(pool, "S00002")));
        }
        finally
        {
            await sshd.ResumeSessions();
        }
        // The stalled tape is retried and arrives whole.
        await Eventually(() => site.EventLogLines().Any(l => l.Contains("|224001|") && l.Contains("S00001")), TimeSpan.FromSeconds(90), "S00001's copy");
        Assert.Equal(large, TapeFiles.Sha256(Path.Combine(pool, "S00001")));
    }

    [Fact]
    public async Task R8_Acknowledged_events_survive_SIGKILL_while_waiting_to_retry()
    {
        await using var sshd = await Sshd.Create(start: false); // the target is down at first
        using var site = new NodeSite(sshd, retryInterval: "1s");
        var tapes = Enumerable.Range(1, 20).Select(i => (Pool: i % 2 == 0 ? "POOL2" : "POOL1", Volser: $"R{i:D5}")).ToList();
        var shas = tapes.ToDictionary(t => t.Volser, t => TapeFiles.Write(site.Tape(t.Pool, t.Volser), 64 * 1024, seed: t.Volser.GetHashCode()));

        await using (var first = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await first.WaitUntilReady(StartTimeout));
            var n = 0;
            foreach (var (pool, volser) in tapes)
            {
                Assert.True((await ems.Send(EmsClient.Mount($"k-{++n}", pool, volser))).TryGetProperty("ack", out _));
                Assert.True((await ems.Send(EmsClient.Dismount($"k-{++n}", pool, volser))).TryGetProperty("ack", out _));
            }
            await Eventually(() => site.EventLogLines().Any(l => l.Contains("|424003|")), TimeSpan.FromSeconds(30), "a failed attempt");
            await first.Kill();
        }

        await sshd.Start();
        var restarted = Stopwatch.StartNew();
        await using var second = NodeProcess.Start(site.ConfigFile);
        await second.WaitUntilReady(StartTimeout);
        var ready = restarted.Elapsed;
        await Eventually(() => tapes.All(t => File.Exists(Path.Combine(sshd.VaultRoot, t.Pool == "POOL1" ? "DRPOOL1" : "DRPOOL2", t.Volser))),
            TimeSpan.FromSeconds(90), "every due copy after the restart");
        output.WriteLine($"restart → ready {ready.TotalSeconds:F1} s; restart → all {tapes.Count} copies verified {restarted.Elapsed.TotalSeconds:F1} s");
        foreach (var (pool, volser) in tapes)
            Assert.Equal(shas[volser], TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, pool == "POOL1" ? "DRPOOL1" : "DRPOOL2", volser)));
    }

    [Fact]
    public async Task R8_A_transfer_cut_by_SIGKILL_is_run_again_after_restart()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        var sha = TapeFiles.Write(site.Tape("POOL1", "K00001"), 384L * 1024 * 1024);
        var final = Path.Combine(sshd.VaultRoot, "DRPOOL1", "K00001");

        await using (var first = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await first.WaitUntilReady(StartTimeout));
            Assert.True((await ems.Send(EmsClient.Dismount("c-1", "POOL1", "K00001"))).TryGetProperty("ack", out _));
            await TapeFiles.WaitUntilWriting(Path.Combine(sshd.VaultRoot, "DRPOOL1"), "K00001");
            await first.Kill();
        }
        Assert.False(File.Exists(final), "the transfer finished before the kill; the test proves nothing");

        var restarted = Stopwatch.StartNew();
        await using var second = NodeProcess.Start(site.ConfigFile);
        await second.WaitUntilReady(StartTimeout);
        await Eventually(() => File.Exists(final), TimeSpan.FromSeconds(120), "the copy after restart");
        output.WriteLine($"restart → 384 MiB copy verified at the target: {restarted.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(sha, TapeFiles.Sha256(final));
        // One attempt started before the kill, one after it; the interrupted one never ended in the journal.
        Assert.Equal(
            ["tape.dismount.v1", "tape.attempt-started.v1", "tape.attempt-started.v1", "tape.copied.v1"],
            site.JournalManifests("tape-POOL1-K00001"));
    }

    [Fact]
    public async Task The_EMS_port_survives_hostile_input_and_keeps_acknowledging()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));

        await ems.SendRaw(new byte[1024 * 1024].Select((_, i) => (byte)('a' + i % 26)).ToArray());
        Assert.Contains("longer than", (await ems.Send("")).GetProperty("error").GetString());
        var garbage = new byte[5000];
        new Random(3).NextBytes(garbage);
        await ems.SendRaw(garbage.Select(b => b == (byte)'\n' ? (byte)0 : b).ToArray());
        Assert.True((await ems.Send("")).TryGetProperty("nak", out _));
        Assert.Contains("invalid volser", (await ems.Send(EmsClient.Dismount("h-1", "POOL1", "../../etc"))).GetProperty("error").GetString());
        File.WriteAllBytes(site.Tape("POOL1", "H00001"), new byte[1024]);
        var journaled = await ems.Send(EmsClient.Dismount("h-2", "POOL1", "H00001"));
        Assert.Equal("h-2", journaled.GetProperty("ack").GetString());
        Assert.False(journaled.TryGetProperty("ignored", out _), journaled.ToString());
    }
}
