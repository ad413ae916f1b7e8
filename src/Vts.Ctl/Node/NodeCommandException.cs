using Vts.Ctl.Cli;

namespace Vts.Ctl.Node;

/// <summary>A command that could not do its job. It ends vtsctl with <see cref="ExitCode"/> and its message,
/// one line on stderr.</summary>
public sealed class NodeCommandException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static NodeCommandException Failed(string message) => new(ExitCodes.Failure, message);

    public static NodeCommandException Unreachable(NodeEndpoint node, string reason) =>
        new(ExitCodes.Failure, $"cannot reach node at {node}: {reason}");
}
