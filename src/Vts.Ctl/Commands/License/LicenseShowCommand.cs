using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.License;

/// <summary>The cluster's license: site id, holder, features, expiry, and what is held for want of a key.</summary>
public sealed class LicenseShowCommand : NodeCommand<NodeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, NodeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<LicenseView>(AdminApi.License, ct), Render);

    private static IRenderable Render(LicenseView license) =>
        new Grid()
            .AddColumn(new GridColumn().NoWrap())
            .AddColumn()
            .AddRow(new Text("Site"), Cells.Plain(license.Site))
            .AddRow(new Text("State"), Cells.State(license.State))
            .AddRow(new Text("Detail"), Cells.Plain(license.Detail))
            .AddRow(new Text("Holder"), Cells.Plain(license.Holder))
            .AddRow(new Text("Features"), Cells.Plain(string.Join(", ", license.Features)))
            .AddRow(new Text("Expires"), Cells.Plain(license.Expires?.ToString("yyyy-MM-dd")))
            .AddRow(new Text("Evaluation until"), Cells.Plain(license.EvaluationUntil?.ToString("yyyy-MM-dd")))
            .AddRow(new Text("Days left"), Cells.Plain(license.DaysLeft?.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .AddRow(new Text("Copies held"), license.CopiesAllowed ? Cells.Plain("none") : Cells.Number(license.Held))
            .AddRow(new Text("Issuer"), license.TestIssuer
                ? Cells.Styled(TestIssuer, new Style(Color.Red))
                : Cells.Plain("built in"));

    /// <summary>Said plainly: this build accepts keys anyone with the repository can sign.</summary>
    public const string TestIssuer = "TEST issuer of the source repository (its private key is public): not a release build";
}
