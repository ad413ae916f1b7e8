using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.Cluster;

public sealed class ClusterDownCommand : NodeCommand<AddressSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, AddressSettings settings, CancellationToken ct) =>
        CommandResults.Report(output,
            await node.PostAsync<CommandResult>(AdminApi.ClusterDown, new AddressRequest(settings.Address), ct));
}
