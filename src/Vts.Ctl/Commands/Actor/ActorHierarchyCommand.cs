using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.Actor;

public sealed class ActorHierarchyCommand : NodeCommand<NodeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<ActorTree>(AdminApi.Actors, ct), tree => ActorPathTree.Build(tree.Paths));
}
