using System.ComponentModel;
using Spectre.Console.Cli;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class ThrottleSettings : NodeSettings
{
    [CommandArgument(0, "<TARGET>")]
    [Description("The target, as named under vts.autocopy.targets.")]
    public required string Target { get; init; }

    [CommandArgument(1, "<RATE>")]
    [Description("A limit (200MiB/s, 400Mbit/s), unlimited, or configured (lift the override: the configuration and its schedule apply again).")]
    public required string Rate { get; init; }

    [CommandOption("--for <DURATION>")]
    [Description("How long the limit holds (90s, 30m, 2h, 1d); without it, until changed again.")]
    public string? For { get; init; }
}

/// <summary>Changes a target's bandwidth limit now, for the whole cluster; journaled, so it outlives a restart.</summary>
public sealed class AutoCopyThrottleCommand : NodeCommand<ThrottleSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, ThrottleSettings settings, CancellationToken ct) =>
        CommandResults.Report(output, await node.PostAsync<CommandResult>(
            AdminApi.TargetThrottle(Uri.EscapeDataString(settings.Target)), new ThrottleRequest(settings.Rate, settings.For), ct));
}
