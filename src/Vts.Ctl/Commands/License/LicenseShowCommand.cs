using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.License;

public sealed class LicenseShowCommand : NodeCommand<NodeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<LicenseView>(AdminApi.License, ct), Render);

    private static IRenderable Render(LicenseView license) =>
        new Table()
            .AddColumns("Feature", "State", "Detail")
            .AddRow(Cells.Plain(license.Feature), Cells.Plain(license.State), Cells.Plain(license.Detail));
}
