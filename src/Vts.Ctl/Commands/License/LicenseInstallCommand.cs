using System.ComponentModel;
using Spectre.Console.Cli;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.License;

public sealed class LicenseInstallSettings : NodeSettings
{
    [CommandArgument(0, "<KEY|FILE>")]
    [Description("The license key (VTS1.…), or a file holding it.")]
    public required string Key { get; init; }
}

/// <summary>Installs a license key for the whole cluster: checked, journaled once, and held copies released on every node.</summary>
public sealed class LicenseInstallCommand : NodeCommand<LicenseInstallSettings>
{
    /// <summary>A key file is one line; anything much larger is not one.</summary>
    private const long MaxFile = 64 * 1024;

    protected override async Task RunAsync(NodeClient node, Output output, LicenseInstallSettings settings, CancellationToken ct)
    {
        var key = settings.Key;
        if (!key.StartsWith("VTS1.", StringComparison.Ordinal) && File.Exists(key))
        {
            if (new FileInfo(key).Length > MaxFile) throw NodeCommandException.Failed($"{key} is not a license key file (larger than {MaxFile / 1024} KiB)");
            key = (await File.ReadAllTextAsync(key, ct)).Trim();
        }
        CommandResults.Report(output, await node.PostAsync<CommandResult>(AdminApi.License, new LicenseInstallRequest(key), ct));
    }
}
