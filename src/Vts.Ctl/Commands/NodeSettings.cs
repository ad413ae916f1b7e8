using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Vts.Ctl.Node;

namespace Vts.Ctl.Commands;

/// <summary>The options every command takes; see <see cref="Cli.GlobalOptions"/> for why they are accepted
/// anywhere on the line.</summary>
public class NodeSettings : CommandSettings
{
    [CommandOption("--node <HOST:PORT>")]
    [Description("The node's admin port. Default: $VTS_NODE, else " + NodeEndpoint.Default + ".")]
    public string? Node { get; init; }

    [CommandOption("--json")]
    [Description("Print the node's JSON answer and nothing else.")]
    public bool Json { get; init; }

    [CommandOption("--token <TOKEN>")]
    [Description("Bearer token for a node listening off loopback. Default: $VTS_TOKEN.")]
    public string? Token { get; init; }

    public NodeEndpoint Endpoint => NodeEndpoint.TryParse(NodeText, out var endpoint, out _)
        ? endpoint
        : throw new InvalidOperationException("settings were not validated");

    public string? EffectiveToken => Token ?? NonEmpty(Environment.GetEnvironmentVariable("VTS_TOKEN"));

    private string NodeText => Node ?? NonEmpty(Environment.GetEnvironmentVariable("VTS_NODE")) ?? NodeEndpoint.Default;

    public override ValidationResult Validate() =>
        NodeEndpoint.TryParse(NodeText, out _, out var error)
            ? ValidationResult.Success()
            : ValidationResult.Error($"--node: {error}");

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
