using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Licensing;

/// <summary>R12 on a whole node: without a license a dismount is journaled and its copy made due but held, and said so;
/// `vtsctl license install` releases it; the key outlives a restart.</summary>
public sealed class LicenseTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static int Held(NodeProcess node) =>
        VtsCtl.Run("--node", node.AdminNode, "license", "show", "--json").Result.Json.GetProperty("held").GetInt32();

    [Fact]
    public async Task R12_A_copy_is_held_without_a_license_and_runs_once_one_is_installed()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: "license { evaluation = off }");
        var sha = TapeFiles.Write(site.Tape("POOL1", "L00001"), 256 * 1024);
        var copy = Path.Combine(sshd.VaultRoot, "DRPOOL1", "L00001");
        string siteId;
        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
            Assert.True((await ems.Send(EmsClient.Dismount("l-1", "POOL1", "L00001"))).TryGetProperty("ack", out _));
            await Wait.Until(() => Held(node) == 1, TimeSpan.FromSeconds(30), "one copy held");
            await node.Kill(); // a restart while held loses nothing
        }

        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            await node.WaitUntilReady(StartTimeout);
            Task<VtsCtl.Result> Ctl(params string[] args) => VtsCtl.Run(["--node", node.AdminNode, .. args]);
            // Held again after the restart, and said so: in vtsctl (license, the tape, its pool) and once for the pool in the event log.
            await Wait.Until(() => Held(node) == 1, TimeSpan.FromSeconds(30), "the copy held again after the restart");
            var shown = (await Ctl("license", "show", "--json")).Json;
            Assert.Equal("held", shown.GetProperty("state").GetString());
            siteId = shown.GetProperty("site").GetString()!;
            Assert.Contains("want of a license", (await Ctl("autocopy", "show", "POOL1", "L00001", "--json")).Json.GetProperty("held").GetString());
            Assert.Contains("POOL1: copies held for want of a license", (await Ctl("autocopy", "pools")).Out.ReplaceLineEndings(" "));
            await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|424019|") && l.Contains("POOL1") && l.Contains("vts.license.evaluation = off")),
                TimeSpan.FromSeconds(30), "the held pool in the event log");
            Assert.Contains("tape.dismount.v1", site.JournalManifests("tape-POOL1-L00001"));
            Assert.False(File.Exists(copy), "a copy ran without a license");

            // A key for another site is refused, with its reason; nothing is released.
            var other = await Ctl("license", "install", LicenseIssuer.ForAYear("VTS-ANOTHERSITE0"));
            Assert.Equal(1, other.ExitCode);
            Assert.Contains("for another site", other.Err + other.Out);
            var keyFile = Path.Combine(site.Dir, "license.key");
            await File.WriteAllTextAsync(keyFile, LicenseIssuer.ForAYear(siteId) + "\n");
            var installed = await Ctl("license", "install", keyFile);
            Assert.True(installed.ExitCode == 0, installed.Err + installed.Out);

            await Wait.Until(() => File.Exists(copy), TimeSpan.FromSeconds(60), "the copy, once licensed");
            Assert.Equal(sha, TapeFiles.Sha256(copy));
            await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|224016|")), TimeSpan.FromSeconds(10), "the install in the event log");
            Assert.Single(site.EventLogLines(), l => l.Contains("|424019|"));

            // license show: holder, features, expiry and days left, as the key says them.
            var expires = DateOnly.FromDateTime(DateTime.UtcNow).AddYears(1);
            var licensed = (await Ctl("license", "show", "--json")).Json;
            Assert.Equal(("licensed", "Example Storage Ltd", expires.ToString("yyyy-MM-dd")),
                (licensed.GetProperty("state").GetString(), licensed.GetProperty("holder").GetString(), licensed.GetProperty("expires").GetString()));
            Assert.Equal(["autocopy", "instant-dr"], licensed.GetProperty("features").EnumerateArray().Select(f => f.GetString()!));
            Assert.Equal(expires.DayNumber - DateOnly.FromDateTime(DateTime.UtcNow).DayNumber, licensed.GetProperty("daysLeft").GetInt32());
            // This repository's build trusts the test issuer, and says so there and in the node's start-up log.
            Assert.True(licensed.GetProperty("testIssuer").GetBoolean());
            Assert.Contains("TEST issuer", node.Output);
            var shownText = (await Ctl("license", "show")).Out;
            foreach (var shownPart in new[] { "Example Storage Ltd", "autocopy, instant-dr", expires.ToString("yyyy-MM-dd"), siteId, "TEST issuer" })
                Assert.Contains(shownPart, shownText);
            Assert.Single(site.JournalManifests("license"), m => m == "license.installed.v1");
        }

        await using var restarted = NodeProcess.Start(site.ConfigFile);
        await restarted.WaitUntilReady(StartTimeout);
        var after = (await VtsCtl.Run("--node", restarted.AdminNode, "license", "show", "--json")).Json;
        Assert.Equal(("licensed", siteId), (after.GetProperty("state").GetString(), after.GetProperty("site").GetString()));
        Assert.Single(site.JournalManifests("license"), m => m == "license.installed.v1"); // journaled once, not again at a start
    }

    [Fact]
    public async Task R12_An_expired_key_in_the_configuration_is_refused_with_its_reason_and_copies_are_held()
    {
        await using var sshd = await Sshd.Create();
        // The site id is made at the first start: learn it, then configure a key for it that expired yesterday.
        using var site = new NodeSite(sshd, extra: "license { evaluation = off }");
        string siteId;
        await using (var first = NodeProcess.Start(site.ConfigFile))
        {
            await first.WaitUntilReady(StartTimeout);
            siteId = (await VtsCtl.Run("--node", first.AdminNode, "license", "show", "--json")).Json.GetProperty("site").GetString()!;
        }
        var expired = LicenseIssuer.Issue(siteId, DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1));
        File.AppendAllText(site.ConfigFile, $"\nvts.license.key = \"{expired}\"\n");
        TapeFiles.Write(site.Tape("POOL1", "X00001"), 4096);

        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        Assert.True((await ems.Send(EmsClient.Dismount("x-1", "POOL1", "X00001"))).TryGetProperty("ack", out _));
        await Wait.Until(() => Held(node) == 1, TimeSpan.FromSeconds(30), "the copy held");
        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|424020|") && l.Contains("expired on")), TimeSpan.FromSeconds(30),
            "the configured key refused as expired");
        var shown = (await VtsCtl.Run("--node", node.AdminNode, "license", "show", "--json")).Json;
        Assert.Equal((siteId, "held"), (shown.GetProperty("site").GetString(), shown.GetProperty("state").GetString()));
    }
}
