using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Admin;

/// <summary>The live status page in a real headless browser: it shows the node's pools and queue, and follows a
/// new copy without being reloaded.</summary>
public sealed class StatusPageTests
{
    [Fact]
    public async Task The_status_page_shows_pools_and_updates_live_without_reload()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, targetExtra: "bandwidth { limit = 40Mbit/s }");
        TapeFiles.Write(site.Tape("POOL1", "P00001"), 1024 * 1024);
        // Held to 40 Mbit/s for about 20 s: longer than the gate's 15 s between samples of the last hour.
        TapeFiles.Write(site.Tape("POOL1", "P00003"), 96 * 1024 * 1024, seed: 3);
        TapeFiles.Write(site.Tape("POOL2", "P00002"), 1024 * 1024, seed: 2);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(TimeSpan.FromSeconds(90)));
        await ems.Send(EmsClient.Dismount("p-1", "POOL1", "P00001"));
        await AdminNodeFixture.Eventually(() => File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "P00001")), "the first copy");

        await using var browser = await Chromium.Open(node.AdminUrl + "/");
        await Until(browser, "document.getElementById('copies').textContent", "1");
        var text = await browser.Evaluate("document.body.innerText");
        Assert.Contains("POOL1", text);
        Assert.Contains("dr:DRPOOL1", text);
        Assert.Contains("P00001", text); // the copy's event-log entry
        var marker = await browser.Evaluate("window.__loadedOnce = 'same page'");

        await ems.Send(EmsClient.Dismount("p-2", "POOL2", "P00002"));
        await Until(browser, "document.getElementById('copies').textContent", "2");
        Assert.Equal("same page", await browser.Evaluate("window.__loadedOnce")); // no reload happened
        Assert.Contains("P00002", await browser.Evaluate("document.body.innerText"));
        Assert.Equal("same page", marker);

        // A transfer held to the target's limit runs for seconds: the page shows its progress, the limit and its source.
        await ems.Send(EmsClient.Dismount("p-3", "POOL1", "P00003"));
        await Until(browser, "[...document.querySelectorAll('#transfers tbody tr')].some(r => r.innerText.includes('POOL1/P00003') && r.innerText.includes('of 96.0 MiB')) ? 'shown' : 'not yet'", "shown");
        var targets = await browser.Evaluate("document.querySelector('#targets tbody').innerText");
        Assert.Contains("40 Mbit/s", targets);
        Assert.Contains("configuration", targets);
        Assert.Equal("1", await browser.Evaluate("String(document.querySelectorAll('#trends svg').length)"));
        // The last hour's chart draws the running transfer: a point of the throughput line above the floor, a queue bar.
        await Until(browser, """
            (() => {
              const svg = document.querySelector('#trends svg');
              const ys = (svg.querySelector('polyline').getAttribute('points') || '').split(' ').filter(Boolean).map(p => +p.split(',')[1]);
              const bars = [...svg.querySelectorAll('rect')].filter(r => +r.getAttribute('height') > 0).length;
              return ys.some(y => y < 77) && bars > 0 ? 'drawn' : 'not yet';
            })()
            """, "drawn");
        await Until(browser, "document.getElementById('copies').textContent", "3");

        await browser.Screenshot(Path.Combine(NodeProcess.RepositoryRoot, "artifacts", "status-page.png"));
    }

    /// <summary>R12 on the page: while copies are held for want of a license a banner says so and why; a key installed
    /// takes it away, live.</summary>
    [Fact]
    public async Task The_status_page_shows_why_copies_are_held_until_a_key_is_installed()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: "license { evaluation = off }");
        TapeFiles.Write(site.Tape("POOL1", "H00001"), 64 * 1024);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(TimeSpan.FromSeconds(90)));
        await ems.Send(EmsClient.Dismount("h-1", "POOL1", "H00001"));

        await using var browser = await Chromium.Open(node.AdminUrl + "/");
        const string banner = "document.getElementById('held').textContent";
        await Until(browser, $"{banner}.startsWith('Copies held for want of a license') ? 'held' : {banner}", "held");
        Assert.Contains("vts.license.evaluation = off", await browser.Evaluate(banner));

        var siteId = (await VtsCtl.Run("--node", node.AdminNode, "license", "show", "--json")).Json.GetProperty("site").GetString()!;
        var installed = await VtsCtl.Run("--node", node.AdminNode, "license", "install", LicenseIssuer.ForAYear(siteId));
        Assert.True(installed.ExitCode == 0, installed.Err + installed.Out);
        await Until(browser, banner, "");
        await Until(browser, "document.getElementById('copies').textContent", "1");
    }

    private static async Task Until(Chromium browser, string expression, string expected)
    {
        var last = "";
        await AdminNodeFixture.Eventually(() =>
        {
            last = browser.Evaluate(expression).GetAwaiter().GetResult();
            return last == expected;
        }, $"{expression} == {expected} (last: {last})", seconds: 30);
    }
}
