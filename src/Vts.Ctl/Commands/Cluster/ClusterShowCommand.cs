using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.Cluster;

public sealed class ClusterShowCommand : NodeCommand<NodeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<ClusterView>(AdminApi.Cluster, ct), Render);

    private static IRenderable Render(ClusterView view)
    {
        var table = new Table().AddColumns("Address", "Status", "Roles", "Reachable");
        foreach (var member in view.Members)
        {
            table.AddRow(
                Cells.Plain(member.Address),
                Cells.Plain(member.Status),
                Cells.Plain(string.Join(", ", member.Roles)),
                Cells.YesNo(member.Reachable));
        }
        return new Rows(
            table,
            new Text($"Leader: {view.Leader ?? "none"}"),
            new Text($"Self:   {view.Self}"));
    }
}
