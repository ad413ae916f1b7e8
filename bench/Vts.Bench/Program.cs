using System.Diagnostics;
using Vts.Bench;

// vts-bench [--out FILE] [--tape-mib N] [--quick] [--only 1,2,…]
// Whole-system figures against real parts on loopback; see bench/results.md for what each one means.
var output = "bench/results.md";
var tapeMiB = 1024;
var quick = false;
var only = new HashSet<int> { 1, 2, 3, 4, 5, 6 };
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--out": output = args[++i]; break;
        case "--tape-mib": tapeMiB = int.Parse(args[++i]); break;
        case "--quick": quick = true; break;
        case "--only": only = args[++i].Split(',').Select(int.Parse).ToHashSet(); break;
        default:
            Console.Error.WriteLine("usage: vts-bench [--out FILE] [--tape-mib N] [--quick] [--only 1,2,…]");
            return 2;
    }
}

var clock = Stopwatch.StartNew();
var report = new Report();
var scratch = Directory.CreateTempSubdirectory("vts-bench-").FullName;
try
{
    if (only.Contains(1)) await CopyThroughput.Run(report, scratch, tapeMiB, runs: quick ? 1 : 5);
    if (only.Contains(2)) await EmsIngest.Run(report, scratch, events: quick ? 4_000 : 20_000, paced: quick ? 5_000 : 30_000);
    if (only.Contains(3)) await DismountToStart.Run(report, scratch, tapes: quick ? 10 : 50);
    if (only.Contains(4)) await Scale.Run(report, scratch, tapes: quick ? 20_000 : 1_000_000, pools: 100, due: 1_000);
    if (only.Contains(5)) await RestartResume.Run(report, scratch, due: quick ? 1_000 : 10_000);
    if (only.Contains(6))
        await ClusterBench.Run(report, failovers: quick ? 1 : 3, dueOnDeadNode: quick ? 100 : 1_000, events: quick ? 4_000 : 20_000,
            paced: quick ? 3_000 : 15_000, restartDue: quick ? 1_000 : 10_000);
}
finally
{
    try { Directory.Delete(scratch, true); } catch (IOException) { }
}

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, report.Markdown(Machine.Describe(), clock.Elapsed));
Console.WriteLine($"wrote {output} in {clock.Elapsed.TotalMinutes:F1} min");
return 0;
