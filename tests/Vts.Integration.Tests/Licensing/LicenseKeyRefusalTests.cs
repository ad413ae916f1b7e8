using System.Diagnostics;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Licensing;

/// <summary>R12 on a whole node: every key that must be refused is refused through `vtsctl license install` with its
/// reason, nothing released; a key made with the issuing tool is installed once for the cluster and shown whole.</summary>
public sealed class LicenseKeyRefusalTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Each_bad_key_is_refused_with_its_reason_and_one_from_the_issuing_tool_is_installed_and_shown()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: "license { evaluation = off }");
        TapeFiles.Write(site.Tape("POOL1", "Q00001"), 4096);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using (var ems = new EmsClient(await node.WaitUntilReady(StartTimeout)))
            Assert.True((await ems.Send(EmsClient.Dismount("q-1", "POOL1", "Q00001"))).TryGetProperty("ack", out _));
        Task<VtsCtl.Result> Ctl(params string[] args) => VtsCtl.Run(["--node", node.AdminNode, .. args]);
        var siteId = (await Ctl("license", "show", "--json")).Json.GetProperty("site").GetString()!;
        var today = DateOnly.FromDateTime(DateTime.UtcNow);

        // Terms of one key under the signature of another: the signature does not cover what the key says.
        var genuine = LicenseIssuer.Issue(siteId, today.AddYears(1), holder: "Example Storage Ltd").Split('.');
        var other = LicenseIssuer.Issue(siteId, today.AddYears(5), holder: "Someone Else").Split('.');
        var oversizedFile = Path.Combine(site.Dir, "huge.key");
        await File.WriteAllTextAsync(oversizedFile, new string('A', 100 * 1024));
        var refusals = new (string What, string Key, string Reason)[]
        {
            ("forged", $"{genuine[0]}.{other[1]}.{genuine[2]}", "forged: the signature is not the issuer's"),
            ("malformed", "VTS1.not-a-key", "malformed"),
            ("not a key at all", "hello", "malformed: not a VTS license key"),
            ("oversized text", "VTS1." + new string('A', 5000), "a license key is at most 4096 characters"),
            ("oversized file", oversizedFile, "larger than 64 KiB"),
            ("other site", LicenseIssuer.ForAYear("VTS-ANOTHERSITE0"), "for another site"),
            ("expired", LicenseIssuer.Issue(siteId, today.AddDays(-1)), $"expired on {today.AddDays(-1):yyyy-MM-dd}"),
            ("no AutoCopy", LicenseIssuer.Issue(siteId, today.AddYears(1), "Example Storage Ltd", "instant-dr"), "does not license AutoCopy"),
        };
        foreach (var (what, bad, reason) in refusals)
        {
            var refused = await Ctl("license", "install", bad);
            Assert.True(refused.ExitCode == 1, $"{what}: exit {refused.ExitCode}: {refused.Err}{refused.Out}");
            Assert.Contains(reason, refused.Err + refused.Out);
        }
        var held = (await Ctl("license", "show", "--json")).Json;
        Assert.Equal(("held", 1), (held.GetProperty("state").GetString(), held.GetProperty("held").GetInt32()));
        Assert.DoesNotContain("license.installed.v1", site.JournalManifests("license"));

        // The issuer's tool, as a vendor runs it (this repository's builds trust its test key).
        var expires = today.AddDays(100);
        var key = await Issue("--key", Path.Combine(NodeProcess.RepositoryRoot, "tests", "Vts.Testing", "license-issuer.test-key.pem"),
            "--site", siteId, "--holder", "Tape Operations Ltd", "--expires", $"{expires:yyyy-MM-dd}");
        var installed = await Ctl("license", "install", key);
        Assert.True(installed.ExitCode == 0, installed.Err + installed.Out);
        await Wait.Until(() => File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "Q00001")), TimeSpan.FromSeconds(60), "the held copy, released");

        var shown = (await Ctl("license", "show", "--json")).Json;
        Assert.Equal("licensed", shown.GetProperty("state").GetString());
        Assert.Equal("Tape Operations Ltd", shown.GetProperty("holder").GetString());
        Assert.Equal(siteId, shown.GetProperty("site").GetString());
        Assert.Equal(["autocopy", "instant-dr"], shown.GetProperty("features").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal($"{expires:yyyy-MM-dd}", shown.GetProperty("expires").GetString());
        Assert.Equal(100, shown.GetProperty("daysLeft").GetInt32());
        Assert.Equal(0, shown.GetProperty("held").GetInt32());
        var text = (await Ctl("license", "show")).Out;
        foreach (var part in new[] { "Tape Operations Ltd", siteId, "autocopy, instant-dr", $"{expires:yyyy-MM-dd}", "100" })
            Assert.Contains(part, text);
        // Journaled once, for the whole cluster.
        Assert.Single(site.JournalManifests("license"), m => m == "license.installed.v1");
    }

    [Fact]
    public async Task An_evaluation_that_began_more_than_30_days_ago_holds_copies_as_no_key_does()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd); // evaluation on, as shipped
        await using (var first = NodeProcess.Start(site.ConfigFile))
        {
            await first.WaitUntilReady(StartTimeout);
            Assert.Equal("evaluation", (await VtsCtl.Run("--node", first.AdminNode, "license", "show", "--json")).Json.GetProperty("state").GetString());
            Assert.Equal(0, await first.Terminate(TimeSpan.FromSeconds(30)));
        }
        // The journal as a cluster that first started 31 days ago left it.
        var began = DateTimeOffset.UtcNow.AddDays(-31);
        await using (var journal = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(site.State, "journal.db")};Pooling=false"))
        {
            await journal.OpenAsync();
            await using var backdate = journal.CreateCommand();
            backdate.CommandText = "UPDATE journal SET message = $message WHERE persistence_id = 'license' AND manifest = 'license.site.v1'";
            var siteId = (await VtsCtlSite(site)).Site;
            backdate.Parameters.AddWithValue("$message", System.Text.Encoding.UTF8.GetBytes(
                System.Text.Json.JsonSerializer.Serialize(new { site = siteId, firstStart = began })));
            Assert.Equal(1, await backdate.ExecuteNonQueryAsync());
            await using var noSnapshot = journal.CreateCommand();
            noSnapshot.CommandText = "DELETE FROM snapshot WHERE persistence_id = 'license'";
            await noSnapshot.ExecuteNonQueryAsync();
        }
        TapeFiles.Write(site.Tape("POOL1", "V00001"), 4096);

        await using var node = NodeProcess.Start(site.ConfigFile);
        using (var ems = new EmsClient(await node.WaitUntilReady(StartTimeout)))
            Assert.True((await ems.Send(EmsClient.Dismount("v-1", "POOL1", "V00001"))).TryGetProperty("ack", out _));
        var ended = $"{began.AddDays(30):yyyy-MM-dd}";
        await Wait.Until(async () => (await VtsCtl.Run("--node", node.AdminNode, "license", "show", "--json")).Json.GetProperty("held").GetInt32() == 1,
            TimeSpan.FromSeconds(30), "the copy held");
        var shown = (await VtsCtl.Run("--node", node.AdminNode, "license", "show", "--json")).Json;
        Assert.Equal("held", shown.GetProperty("state").GetString());
        Assert.Contains($"the evaluation ended on {ended}", shown.GetProperty("detail").GetString());
        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|424019|") && l.Contains("POOL1") && l.Contains("evaluation ended")),
            TimeSpan.FromSeconds(30), "the held pool in the event log");
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "V00001")), "a copy ran after the evaluation ended");
    }

    /// <summary>The site id the first start journaled, read back from the journal as `vtsctl journal` would.</summary>
    private static async Task<(string Site, string Json)> VtsCtlSite(NodeSite site)
    {
        await using var journal = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(site.State, "journal.db")};Mode=ReadOnly;Pooling=false");
        await journal.OpenAsync();
        await using var read = journal.CreateCommand();
        read.CommandText = "SELECT message FROM journal WHERE persistence_id = 'license' AND manifest = 'license.site.v1'";
        var json = System.Text.Encoding.UTF8.GetString((byte[])(await read.ExecuteScalarAsync())!);
        return (System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("site").GetString()!, json);
    }

    private static async Task<string> Issue(params string[] args)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var dll = Path.Combine(NodeProcess.RepositoryRoot, "tools", "Vts.LicenseIssuer", "bin", configuration, "net10.0", "vts-license-issue.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"vts-license-issue: exit {process.ExitCode}: {await errors}");
        return (await output).Trim();
    }
}
