using System.Diagnostics;
using System.Text.Json;

using Vts.Testing;

namespace Vts.Integration.Tests.Fixtures;

/// <summary>Runs the real vtsctl, as an operator would.</summary>
public static class VtsCtl
{
    public sealed record Result(int ExitCode, string Out, string Err)
    {
        public JsonElement Json => JsonDocument.Parse(Out).RootElement;
    }

    public static async Task<Result> Run(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("VTS_NODE");
        info.Environment.Remove("VTS_TOKEN");
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Copies a pool owes (due, copying, waiting to retry), as `vtsctl autocopy pools` counts them.</summary>
    public static async Task<int> Owed(string adminNode, string pool)
    {
        var pools = (await Run("--node", adminNode, "--json", "autocopy", "pools")).Json;
        var counts = pools.EnumerateArray().Single(p => p.GetProperty("pool").GetString() == pool).GetProperty("counts");
        return counts.GetProperty("due").GetInt32() + counts.GetProperty("copying").GetInt32() + counts.GetProperty("waiting-to-retry").GetInt32();
    }

    private static string Dll => NodeProcess.Built("Vts.Ctl", "vtsctl.dll");
}
