using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Node;

/// <summary>docs/configuration.md: an invalid configuration stops start-up with one clear message and exit code 2.</summary>
public sealed class StartupTests : IAsyncLifetime
{
    private Sshd _sshd = null!;
    private NodeSite _site = null!;

    public async Task InitializeAsync()
    {
        _sshd = await Sshd.Create(start: false);
        _site = new NodeSite(_sshd);
    }

    public async Task DisposeAsync()
    {
        _site.Dispose();
        await _sshd.DisposeAsync();
    }

    private async Task<string> ExpectExit2(params string[] args)
    {
        var (code, output) = await NodeProcess.RunToExit(args, TimeSpan.FromSeconds(60));
        Assert.Equal(2, code);
        return output;
    }

    private string Variant(string from, string to)
    {
        var path = Path.Combine(_site.Dir, $"variant-{Guid.NewGuid():N}.hocon");
        var text = File.ReadAllText(_site.ConfigFile);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
        return path;
    }

    [Fact]
    public async Task No_arguments_or_unknown_ones_are_a_usage_error() =>
        Assert.Contains("usage", await ExpectExit2("--frobnicate"));

    [Fact]
    public async Task A_missing_configuration_file() =>
        Assert.Contains("does not exist", await ExpectExit2("--config", "/nonexistent/node.hocon"));

    [Theory]
    [InlineData("target = dr, target-pool = DRPOOL1", "target = nowhere, target-pool = DRPOOL1", "unknown target 'nowhere'")]
    [InlineData("host-key-sha256 = \"SHA256:", "host-key-sha256 = \"MD5:", "is not a SHA256 fingerprint")]
    [InlineData("private-key-file = \"", "private-key-file = \"/missing", "does not exist")]
    [InlineData("POOL2 {", "\"BAD POOL\" {", "invalid pool name")]
    [InlineData("ems.listen = \"127.0.0.1:0\"", "ems.listen = \"nowhere\"", "is not ADDRESS:PORT")]
    [InlineData("retry { interval = 1s", "retry { interval = later", "is not a duration")]
    [InlineData("autocopy {", "autocopy { {", "is never closed")]
    [InlineData("retry { interval = 1s, max-attempts", "retry { interval = 1s, max-attemps", "vts.autocopy.retry: unknown key 'max-attemps' (did you mean 'max-attempts'?)")]
    [InlineData("max-concurrent-transfers", "max-concurent-transfers", "vts.autocopy: unknown key 'max-concurent-transfers' (did you mean 'max-concurrent-transfers'?)")]
    [InlineData("admin.listen", "admin.listn", "vts.admin: unknown key 'listn' (did you mean 'listen'?)")]
    [InlineData("vault-root = \"", "vault-rot = \"", "vts: unknown key 'vault-rot' (did you mean 'vault-root'?)")]
    [InlineData("ems.listen = \"127.0.0.1:0\"", "ems { listen = \"127.0.0.1:0\", alow = [] }", "vts.ems: unknown key 'alow' (did you mean 'allow'?)")]
    [InlineData("ems.listen = \"127.0.0.1:0\"", "ems { listen = \"127.0.0.1:0\", allow = [\"10.0.0.0/33\"] }", "vts.ems.allow: '10.0.0.0/33' is not an address or a network")]
    [InlineData("node-name", "colour = blue\n  node-name", "vts: unknown key 'colour' (known: node-name, state-dir")]
    public async Task An_invalid_configuration_stops_with_exit_code_2_and_a_clear_message(string from, string to, string message)
    {
        var output = await ExpectExit2("--config", Variant(from, to));
        Assert.Contains("invalid configuration", output);
        Assert.Contains(message, output);
        Assert.DoesNotContain("   at ", output); // a message, not a stack trace
    }

    [Fact]
    public async Task A_port_in_use_stops_with_exit_code_2_and_one_line_naming_it()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        foreach (var (key, setting) in new[] { ("vts.admin.listen", "admin.listen"), ("vts.ems.listen", "ems.listen") })
        {
            var output = await ExpectExit2("--config", Variant($"{setting} = \"127.0.0.1:0\"", $"{setting} = \"127.0.0.1:{port}\""));
            Assert.Contains($"invalid configuration: {key} (127.0.0.1:{port}) is in use by another process", output);
            Assert.DoesNotContain("   at ", output); // one line, not Kestrel's stack trace
        }
        var cluster = Path.Combine(_site.Dir, $"cluster-port-{Guid.NewGuid():N}.hocon");
        await File.WriteAllTextAsync(cluster, $"akka.remote.dot-netty.tcp.port = {port}");
        var remoting = await ExpectExit2("--config", _site.ConfigFile, "--config", cluster);
        Assert.Contains($"invalid configuration: akka.remote.dot-netty.tcp.port (127.0.0.1:{port}) is in use by another process", remoting);
        Assert.DoesNotContain("   at ", remoting); // not Akka's and the host's stack traces
    }

    [Fact]
    public async Task A_later_file_overrides_an_earlier_one()
    {
        var bad = Path.Combine(_site.Dir, "override.hocon");
        await File.WriteAllTextAsync(bad, "vts.autocopy.pools.POOL1.target = elsewhere");
        Assert.Contains("unknown target 'elsewhere'", await ExpectExit2("--config", _site.ConfigFile, "--config", bad));
    }
}
