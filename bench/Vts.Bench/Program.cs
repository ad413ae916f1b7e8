using System.Diagnostics;
using Vts.Bench;

// vts-bench [--out FILE] [--tape-mib N] [--quick] [--only 1,2,…,11] [--cluster failover,ingest,restart] [--wan links,resume]
// Whole-system figures against real parts on loopback; see bench/results.md for what each one means.
// Section 6 diagnostics: VTS_BENCH_LOGLEVEL=INFO runs the cluster's nodes at that log level, and VTS_BENCH_LOGS=DIR
// writes each node's output there after every failover and restart (where the seconds went).
var output = "bench/results.md";
var tapeMiB = 1024;
var quick = false;
var only = new HashSet<int> { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
var clusterParts = ClusterBench.Parts.ToHashSet();
var wanParts = WanThroughput.Parts.ToHashSet();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--out": output = args[++i]; break;
        case "--tape-mib": tapeMiB = int.Parse(args[++i]); break;
        case "--quick": quick = true; break;
        case "--only": only = args[++i].Split(',').Select(int.Parse).ToHashSet(); break;
        case "--cluster": clusterParts = args[++i].Split(',').ToHashSet(); break;
        case "--wan": wanParts = args[++i].Split(',').ToHashSet(); break;
        default:
            Console.Error.WriteLine("usage: vts-bench [--out FILE] [--tape-mib N] [--quick] [--only 1,2,…] [--cluster failover,ingest,restart] [--wan links,resume]");
            return 2;
    }
}

var clock = Stopwatch.StartNew();
var report = new Report();
var wrote = false;
// A section that fails is said in the report, and the figures of the others are still written.
async Task Section(int number, Func<Task> run)
{
    if (!only.Contains(number)) return;
    try
    {
        await run();
        wrote = true;
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"section {number} failed: {e}");
        report.Note($"**Section {number} did not finish**: {e.GetType().Name}: {e.Message}");
    }
}

var scratch = Directory.CreateTempSubdirectory("vts-bench-").FullName;
try
{
    await Section(1, () => CopyThroughput.Run(report, scratch, tapeMiB, runs: quick ? 1 : 5));
    await Section(2, () => EmsIngest.Run(report, scratch, events: quick ? 4_000 : 20_000, paced: quick ? 5_000 : 30_000));
    await Section(3, () => DismountToStart.Run(report, scratch, tapes: quick ? 10 : 50));
    await Section(4, () => Scale.Run(report, scratch, tapes: quick ? 20_000 : 1_000_000, pools: 100, due: 1_000));
    await Section(5, () => RestartResume.Run(report, scratch, due: quick ? 1_000 : 10_000));
    await Section(6, () => ClusterBench.Run(report, failovers: quick ? 1 : 3, dueOnDeadNode: quick ? 100 : 1_000,
        events: quick ? 4_000 : 20_000, paced: quick ? 3_000 : 15_000, restartDue: quick ? 1_000 : 10_000, clusterParts));
    await Section(7, () => WanThroughput.Run(report, scratch, quick, wanParts));
    await Section(8, () => BandwidthBench.Run(report, quick));
    await Section(9, () => ReconcileBench.Run(report, scratch, tapes: quick ? 10_000 : 100_000));
    await Section(10, () => JournalCheckBench.Run(report, scratch, rows: quick ? 400_000 : 4_000_000));
    await Section(11, () => VtsCtlStart.Run(report, scratch, calls: quick ? 3 : 10));
}
finally
{
    try { Directory.Delete(scratch, true); } catch (IOException) { }
}

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
if (!wrote) report.Note("nothing was measured");
await File.WriteAllTextAsync(output, report.Markdown(Machine.Describe(), clock.Elapsed));
Console.WriteLine($"wrote {output} in {clock.Elapsed.TotalMinutes:F1} min");
return 0;
