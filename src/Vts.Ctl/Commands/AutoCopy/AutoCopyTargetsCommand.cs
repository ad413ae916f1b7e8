using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

/// <summary>Each target over the whole cluster: slots, the bandwidth limit in force and why, throughput, and the
/// transfers running with their progress.</summary>
public sealed class AutoCopyTargetsCommand : NodeCommand<NodeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<TargetView[]>(AdminApi.Targets, ct), Render);

    private static IRenderable Render(TargetView[] targets)
    {
        var table = new Table().AddColumns(Cells.Fixed("Target"), Cells.Count("Running"), Cells.Count("Waiting"), Cells.Count("Slots"),
            Cells.Fixed("Limit"), Cells.Fixed("Limit from"), Cells.Count("Throughput"));
        foreach (var t in targets)
            table.AddRow(Cells.Plain(t.Target), Cells.Number(t.Running), Cells.Number(t.Waiting), Cells.Number(t.Slots),
                Cells.Plain(t.LimitText), Cells.Plain(t.LimitSource), Cells.Plain(Cells.Rate(t.BytesPerSecond)));
        var transfers = targets.SelectMany(t => t.Transfers.Select(r => (t.Target, r))).ToList();
        if (transfers.Count == 0) return new Rows(table, new Text("No transfers running."));

        var running = new Table().AddColumns(Cells.Fixed("Tape"), Cells.Fixed("Target"), Cells.Count("Done"), Cells.Count("Of"),
            Cells.Count("%"), Cells.Count("Rate"), Cells.Count("Time left"), Cells.Fixed("Share"));
        foreach (var (target, r) in transfers)
            running.AddRow(Cells.Plain($"{r.Pool}/{r.Volser}"), Cells.Plain(target), Cells.Plain(Cells.MiB(r.Done)), Cells.Plain(Cells.MiB(r.Total)),
                Cells.Plain(r.Total > 0 ? (100.0 * r.Done / r.Total).ToString("0.0", CultureInfo.InvariantCulture) : "-"),
                Cells.Plain(Cells.Rate(r.BytesPerSecond)), Cells.Plain(Cells.Duration(r.SecondsLeft)),
                Cells.Plain(r.Share is { } share ? Cells.Rate(share) : "unlimited"));
        return new Rows(table, running);
    }
}
