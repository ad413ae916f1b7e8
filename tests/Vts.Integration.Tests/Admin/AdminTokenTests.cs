using System.Net;
using System.Net.Http.Headers;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Admin;

/// <summary>The admin port needs a token off loopback, and enforces one whenever it is configured.</summary>
public sealed class AdminTokenTests
{
    private const string Token = "s3cret-token-for-the-tests";

    [Fact]
    public async Task Off_loopback_without_a_token_the_node_refuses_to_start()
    {
        await using var sshd = await Sshd.Create(start: false);
        using var site = new NodeSite(sshd, extra: "admin.listen = \"0.0.0.0:7410\"");
        var (code, output) = await NodeProcess.RunToExit(["--config", site.ConfigFile], TimeSpan.FromSeconds(60));
        Assert.Equal(2, code);
        Assert.Contains("vts.admin.token is required", output);
    }

    [Fact]
    public async Task A_configured_token_is_required_by_every_endpoint()
    {
        await using var sshd = await Sshd.Create(start: false);
        using var site = new NodeSite(sshd, extra: $"admin.token = \"{Token}\"");
        await using var node = NodeProcess.Start(site.ConfigFile);
        await node.WaitUntilReady(TimeSpan.FromSeconds(90));

        using var http = new HttpClient();
        foreach (var path in new[] { "/api/pools", "/api/cluster", "/api/status", "/api/license", "/metrics" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(node.AdminUrl + path)).StatusCode);
        // The page itself holds no data and loads without the token; a token in the address is refused, even the right one.
        var page = await http.GetAsync(node.AdminUrl + "/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.DoesNotContain("POOL1", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(node.AdminUrl + $"/?token={Token}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(node.AdminUrl + $"/api/pools?token={Token}")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong-token-wrong-token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(node.AdminUrl + "/api/pools")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(node.AdminUrl + "/api/pools")).StatusCode);

        var refused = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "pools");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("token", refused.Err);
        Assert.Equal(0, (await VtsCtl.Run("--node", node.AdminNode, "--token", Token, "autocopy", "pools")).ExitCode);
    }
}
