using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class AutoCopyShowCommand : NodeCommand<TapeSettings>
{
    protected override async Task RunAsync(NodeClient node, Output output, TapeSettings settings, CancellationToken ct) =>
        output.Show(await node.GetAsync<TapeView>(settings.TapePath, ct), Render);

    private static IRenderable Render(TapeView tape)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, IRenderable value) => grid.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), value);

        Row("Tape", Cells.Plain($"{tape.Pool}/{tape.Volser}"));
        Row("State", Cells.State(tape.State));
        if (tape.Held is { } held) Row("Held", Cells.Styled(held, new Style(Color.Yellow)));
        Row("Mounted", Cells.Plain(tape.Mounted));
        Row("Attempts", Cells.Plain($"{tape.Attempts} of {tape.MaxAttempts}"));
        Row("Due since", Cells.Plain(Cells.Time(tape.DueSince)));
        Row("Next retry", Cells.Plain(Cells.Time(tape.NextAttemptAt)));
        Row("Last error", Cells.Plain(tape.LastError));
        if (tape.Transfer is { } t)
        {
            Row("Transfer", Cells.Plain($"{Cells.MiB(t.Done)} of {Cells.MiB(t.Total)}" +
                                        (t.Total > 0 ? $" ({(100.0 * t.Done / t.Total).ToString("0.0", CultureInfo.InvariantCulture)} %)" : "")));
            Row("Rate", Cells.Plain($"{Cells.Rate(t.BytesPerSecond)}, share {(t.Share is { } share ? Cells.Rate(share) : "unlimited")}"));
            Row("Time left", Cells.Plain(Cells.Duration(t.SecondsLeft)));
        }

        if (tape.LastCopy is not { } copy)
        {
            Row("Last copy", Cells.Plain("none yet"));
            return grid;
        }
        Row("Last copy size", Cells.Plain($"{copy.Size.ToString("N0", CultureInfo.InvariantCulture)} bytes ({Cells.MiB(copy.Size)})"));
        Row("SHA-256", Cells.Plain(copy.Sha256));
        Row("Duration", Cells.Plain(copy.DurationSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s"));
        Row("Throughput", Cells.Plain(copy.MiBPerSecond.ToString("0.0", CultureInfo.InvariantCulture) + " MiB/s"));
        Row("Copied at", Cells.Plain(Cells.Time(copy.At)));
        return grid;
    }
}
