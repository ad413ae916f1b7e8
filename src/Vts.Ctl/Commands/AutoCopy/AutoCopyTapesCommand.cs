using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class AutoCopyTapesCommand : NodeCommand<AutoCopyTapesCommand.Settings>
{
    public sealed class Settings : NodeSettings
    {
        [CommandOption("--pool <POOL>")]
        [Description("Only this pool's tapes.")]
        public string? Pool { get; init; }

        [CommandOption("--state <STATE>")]
        [Description("Only tapes in this copy state: idle, due, copying, waiting-to-retry or failed.")]
        public string? State { get; init; }

        public override ValidationResult Validate()
        {
            if (State is not null && !CopyStates.All.Contains(State))
                return ValidationResult.Error($"--state: '{State}' is not one of {string.Join(", ", CopyStates.All)}");
            return base.Validate();
        }
    }

    protected override async Task RunAsync(NodeClient node, Output output, Settings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<TapeView[]>(Query(settings), ct), Render);

    private static string Query(Settings settings)
    {
        var filters = new List<string>();
        if (settings.Pool is not null) filters.Add("pool=" + Uri.EscapeDataString(settings.Pool));
        if (settings.State is not null) filters.Add("state=" + Uri.EscapeDataString(settings.State));
        return filters.Count == 0 ? AdminApi.Tapes : $"{AdminApi.Tapes}?{string.Join('&', filters)}";
    }

    private static IRenderable Render(TapeView[] tapes)
    {
        var table = new Table().AddColumns(
            Cells.Fixed("Pool"), Cells.Fixed("Volser"), Cells.Fixed("State"), Cells.Fixed("Mounted"),
            Cells.Fixed("Attempts"), Cells.Fixed("Due since"), Cells.Fixed("Next retry"), new TableColumn("Last error"));
        foreach (var tape in tapes)
        {
            table.AddRow(
                Cells.Plain(tape.Pool),
                Cells.Plain(tape.Volser),
                Cells.State(tape.State),
                Cells.Plain(tape.Mounted),
                Cells.Plain($"{tape.Attempts}/{tape.MaxAttempts}"),
                Cells.Plain(Cells.Time(tape.DueSince)),
                Cells.Plain(Cells.Time(tape.NextAttemptAt)),
                Cells.Plain(Cells.Truncated(tape.LastError)));
        }
        return table;
    }
}
