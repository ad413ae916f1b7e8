using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class AutoCopyRetryCommand : NodeCommand<TapeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, TapeSettings settings, CancellationToken ct) =>
        CommandResults.Report(output, await node.PostAsync<CommandResult>(settings.RetryPath, null, ct));
}
