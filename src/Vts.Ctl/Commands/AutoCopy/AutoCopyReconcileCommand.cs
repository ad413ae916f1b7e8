using System.ComponentModel;
using Spectre.Console.Cli;
using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands.AutoCopy;

public sealed class ReconcileSettings : NodeSettings
{
    [CommandArgument(0, "<POOL>")]
    [Description("The pool to compare with its target pool.")]
    public required string Pool { get; init; }

    [CommandOption("--dry-run")]
    [Description("Report the differences only; make no copy due.")]
    public bool DryRun { get; init; }
}

/// <summary>Compares a pool with its target pool (tapes missing there, or of another size) and makes a copy due for each
/// difference; tapes only at the target are listed, never deleted.</summary>
public sealed class AutoCopyReconcileCommand : NodeCommand<ReconcileSettings>
{
    /// <summary>How many volsers of each kind are printed; --json has them all.</summary>
    private const int Shown = 20;

    protected override async Task RunAsync(NodeClient node, Output output, ReconcileSettings settings, CancellationToken ct) =>
        output.Show(await node.PostAsync<ReconcileView>(AdminApi.PoolReconcile(Uri.EscapeDataString(settings.Pool)),
            new ReconcileRequest(settings.DryRun), ct), Lines);

    private static IEnumerable<string> Lines(ReconcileView r)
    {
        yield return $"{r.Pool} → {r.Target}:{r.TargetPool}: {r.SourceTapes} tapes here, {r.TargetTapes} there ({r.Seconds:F1} s)";
        yield return $"  missing at the target: {r.Missing.Count}{Some(r.Missing)}";
        yield return $"  another size there:    {r.SizeDiffers.Count}{Some(r.SizeDiffers)}";
        yield return $"  only at the target:    {r.OnlyAtTarget.Count}{Some(r.OnlyAtTarget)} (never deleted)";
        if (r.DryRun)
        {
            yield return "  dry run: no copy made due";
            yield break;
        }
        yield return $"  copies made due:       {r.Made}";
        foreach (var n in r.NotMade.Take(Shown)) yield return $"  not made: {n.Volser}: {n.Why}";
        if (r.NotMade.Count > Shown) yield return $"  … and {r.NotMade.Count - Shown} more not made (--json lists them)";
    }

    private static string Some(IReadOnlyList<string> volsers) => volsers.Count == 0
        ? ""
        : $"  {string.Join(' ', volsers.Take(Shown))}{(volsers.Count > Shown ? $" … (+{volsers.Count - Shown})" : "")}";
}
