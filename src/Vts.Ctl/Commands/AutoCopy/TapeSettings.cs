using System.ComponentModel;
using Spectre.Console.Cli;
using Vts.Admin.Contracts;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class TapeSettings : NodeSettings
{
    [CommandArgument(0, "<POOL>")]
    [Description("The tape's pool.")]
    public required string Pool { get; init; }

    [CommandArgument(1, "<VOLSER>")]
    [Description("The tape's volume serial.")]
    public required string Volser { get; init; }

    // Pool and volser are plain names on the node, but a typo with '/' or '?' must not reach another route.
    public string TapePath => AdminApi.Tape(Uri.EscapeDataString(Pool), Uri.EscapeDataString(Volser));

    public string RetryPath => AdminApi.TapeRetry(Uri.EscapeDataString(Pool), Uri.EscapeDataString(Volser));
}
