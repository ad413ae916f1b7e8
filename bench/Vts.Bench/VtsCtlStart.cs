using System.Diagnostics;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>#13: the <c>./vtsctl</c> launcher of a built checkout, which should answer in well under a second (through
/// <c>dotnet run</c> a call took about 4 s).</summary>
public static class VtsCtlStart
{
    public static async Task Run(Report report, string scratch, int calls)
    {
        report.Section("11. vtsctl: one call, start to exit");
        await using var sshd = await Sshd.Create(start: false);
        await using var node = new BenchNode(scratch, "vtsctl-node", sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, sshd.VaultRoot);
        await node.Start();
        var launcher = Path.Combine(NodeProcess.RepositoryRoot, "vtsctl");
        var nodeAddress = node.Process!.AdminNode;
        foreach (var (what, args) in new[] { ("--version", new[] { "--version" }), ("autocopy pools", new[] { "--node", nodeAddress, "autocopy", "pools" }) })
        {
            await Call(launcher, args); // the first call reads the files from disk; an operator's next ones do not
            var seconds = new List<double>();
            for (var i = 0; i < calls; i++) seconds.Add(await Call(launcher, args));
            report.Add(new Figure($"./vtsctl {what} (median of {calls})", $"{Stats.Median(seconds):F2} s", "< 1 s",
                Stats.Met(Stats.Median(seconds) < 1), $"slowest {seconds.Max():F2} s; the Release build of src/Vts.Ctl through `dotnet`"));
        }
    }

    private static async Task<double> Call(string launcher, string[] args)
    {
        var start = new ProcessStartInfo(launcher) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var took = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0) throw new InvalidOperationException($"vtsctl {string.Join(' ', args)}: exit {process.ExitCode}: {await errors}{await output}");
        return took;
    }
}
