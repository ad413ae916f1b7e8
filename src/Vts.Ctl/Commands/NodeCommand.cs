using Spectre.Console.Cli;
using Vts.Ctl.Cli;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands;

/// <summary>A command that asks the node one thing and shows the answer. Failures leave as
/// <see cref="NodeCommandException"/>; <see cref="VtsCtlApp"/> turns them into a message and an exit code.</summary>
public abstract class NodeCommand<TSettings> : AsyncCommand<TSettings> where TSettings : NodeSettings
{
    public sealed override async Task<int> ExecuteAsync(CommandContext context, TSettings settings, CancellationToken ct)
    {
        using var node = new NodeClient(settings.Endpoint, settings.EffectiveToken);
        await RunAsync(node, new Output(settings.Json), settings, ct);
        return ExitCodes.Success;
    }

    protected abstract Task RunAsync(NodeClient node, Output output, TSettings settings, CancellationToken ct);
}
