using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.Journal;

public sealed class JournalIdsCommand : NodeCommand<NodeSettings>
{
    // One id per line, so the output feeds `xargs -n1 vtsctl journal events`.
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<string[]>(AdminApi.JournalIds, ct), ids => ids);
}
