using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class AutoCopyPoolsCommand : NodeCommand<NodeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<PoolView[]>(AdminApi.Pools, ct), Render);

    private static IRenderable Render(PoolView[] pools)
    {
        var table = new Table().AddColumns(Cells.Fixed("Pool"), Cells.Fixed("Node"), Cells.Fixed("Target"), Cells.Fixed("Target pool"));
        foreach (var state in CopyStates.All) table.AddColumn(Cells.Count(state));
        table.AddColumn(Cells.Count("Mounted"));
        table.AddColumn(Cells.Fixed("Last audit"));
        table.AddColumn(Cells.Fixed("Reconcile"));

        foreach (var pool in pools)
        {
            // A state the node has no tapes in may be left out of Counts.
            var counts = CopyStates.All.Select(state => Cells.Number(pool.Counts.GetValueOrDefault(state)));
            table.AddRow([
                Cells.Plain(pool.Pool), Cells.Plain(pool.Node), Cells.Plain(pool.Target), Cells.Plain(pool.TargetPool),
                .. counts,
                Cells.Number(pool.Mounted),
                Cells.Plain(Audit(pool.LastAudit)),
                Cells.Plain(Reconcile(pool.Reconcile)),
            ]);
        }
        // R12: one line for the cluster's reason, under the pools it holds.
        if (pools.FirstOrDefault(p => p.Held is not null) is { Held: { } held } first)
            return new Rows(table, new Text($"{string.Join(", ", pools.Where(p => p.Held is not null).Select(p => p.Pool))}: copies {held}",
                new Style(Color.Yellow)));
        return table;
    }

    private static string Audit(ReconcileView? audit) => audit switch
    {
        null => "none yet",
        { State: "failed" } => $"{audit.EndedAt:yyyy-MM-dd HH:mm} failed",
        _ => $"{audit.EndedAt:yyyy-MM-dd HH:mm}, drift {audit.MissingCount + audit.SizeDiffersCount + audit.ContentDiffersCount}",
    };

    private static string Reconcile(ReconcileView? run) => run switch
    {
        null => "",
        { IsRunning: true } => $"{run.Trigger}: {run.Checked}/{(run.Total == 0 ? "?" : run.Total)} checked",
        _ => $"{run.State} {run.EndedAt:yyyy-MM-dd HH:mm}",
    };
}
