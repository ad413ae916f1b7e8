using System.Diagnostics;
using System.Text.Json;
using Vts.Integration.Tests.Admin;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Sim;

/// <summary>vts-sim (README) against a real node: its tapes arrive verified; bad arguments are refused.</summary>
public sealed class SimulatorTests
{
    internal static async Task<(int ExitCode, string Output)> Sim(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(NodeProcess.Built("Vts.Sim", "vts-sim.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await output + await error);
    }

    [Theory]
    [InlineData("--vault", "/tmp", "--ems", "nowhere", "--pools", "POOL1")]
    [InlineData("--vault", "/tmp", "--ems", "127.0.0.1:1", "--pools", "../x")]
    [InlineData("--vault", "/tmp", "--ems", "127.0.0.1:1", "--pools", "POOL1", "--size", "3X")]
    [InlineData("--vault", "/tmp", "--ems", "127.0.0.1:1", "--pools", "POOL1", "--noring-share", "2")]
    [InlineData("--vault", "/tmp", "--ems", "127.0.0.1:1")]
    [InlineData("--bogus")]
    [InlineData("--vault", "/tmp", "--ems", "127.0.0.1:1", "--pools", "POOL1", "--encrypted-share", "0.5")]
    public async Task Bad_arguments_are_refused_with_exit_code_2(params string[] args) =>
        Assert.Equal(2, (await Sim(args)).ExitCode);

    [Fact]
    public async Task The_simulators_ring_tapes_arrive_verified_and_its_noring_tapes_are_not_copied()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        await using var node = NodeProcess.Start(site.ConfigFile);
        var ems = await node.WaitUntilReady(TimeSpan.FromSeconds(90));
        var summaryFile = Path.Combine(site.Dir, "sim.json");

        var (code, output) = await Sim("--vault", site.Vault, "--ems", ems.ToString(), "--pools", "POOL1,POOL2",
            "--tapes", "8", "--cycles", "8", "--size", "256K", "--rate", "50", "--noring-share", "0.25", "--summary", summaryFile);
        Assert.True(code == 0, output);

        var summary = JsonDocument.Parse(await File.ReadAllTextAsync(summaryFile)).RootElement;
        Assert.Equal(0, summary.GetProperty("naks").GetInt32());
        var tapes = summary.GetProperty("tapes").EnumerateArray().ToList();
        var written = tapes.Where(t => t.GetProperty("sha256").ValueKind == JsonValueKind.String).ToList();
        Assert.NotEmpty(written);
        string AtTarget(JsonElement t) => Path.Combine(sshd.VaultRoot, "DR" + t.GetProperty("pool").GetString(), t.GetProperty("volser").GetString()!);
        await AdminNodeFixture.Eventually(() => written.All(t => File.Exists(AtTarget(t))), "every written tape at the target");
        foreach (var t in written) Assert.Equal(t.GetProperty("sha256").GetString(), TapeFiles.Sha256(AtTarget(t)));
        foreach (var t in tapes.Except(written)) Assert.False(File.Exists(AtTarget(t)));
    }
}
