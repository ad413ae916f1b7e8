using System.ComponentModel;
using Spectre.Console;
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

    [CommandOption("--verify-content")]
    [Description("Also compare the SHA-256 of tapes of the same size: the target hashes its copies in place, nothing is read back.")]
    public bool VerifyContent { get; init; }

    [CommandOption("--no-wait")]
    [Description("Start it and return; --status follows it.")]
    public bool NoWait { get; init; }

    [CommandOption("--status")]
    [Description("Show the pool's running reconcile, or its last; start nothing.")]
    public bool Status { get; init; }

    [CommandOption("--cancel")]
    [Description("End the pool's running reconcile; the copies it made due stay due.")]
    public bool Cancel { get; init; }

    public override ValidationResult Validate() =>
        (Status ? 1 : 0) + (Cancel ? 1 : 0) > 1 || (Status || Cancel) && (DryRun || VerifyContent || NoWait)
            ? ValidationResult.Error("--status and --cancel each stand alone")
            : base.Validate();
}

/// <summary>Compares a pool with its target pool (tapes missing there, of another size, or of other content) and makes a
/// copy due for each difference; tapes only at the target are listed, never deleted. The pool's node runs it (it
/// survives a restart or a failover); this command starts it and follows it to its report. Ctrl-C stops following,
/// not the reconcile.</summary>
public sealed class AutoCopyReconcileCommand : NodeCommand<ReconcileSettings>
{
    /// <summary>How many volsers of each kind are printed; --json has the first 500 of each.</summary>
    private const int Shown = 20;

    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(500);

    protected override async Task RunAsync(NodeClient node, Output output, ReconcileSettings settings, CancellationToken ct)
    {
        var path = AdminApi.PoolReconcile(Uri.EscapeDataString(settings.Pool));
        if (settings.Status)
        {
            output.Show(await node.GetAsync<ReconcileView>(path, ct), Lines);
            return;
        }
        if (settings.Cancel)
        {
            Report(output, await node.DeleteAsync<ReconcileAnswerView>(path, ct));
            return;
        }
        var started = await node.PostAsync<ReconcileAnswerView>(path, new ReconcileRequest(settings.DryRun, settings.VerifyContent), ct);
        if (!started.Value.Ok || settings.NoWait || started.Value.Reconcile is not { } run)
        {
            Report(output, started);
            return;
        }
        output.Show(await Follow(node, path, run, output.IsJson, ct), Lines);
    }

    /// <summary>Polls the node until the reconcile has ended; on a terminal, a progress line meanwhile.</summary>
    private static async Task<NodeReply<ReconcileView>> Follow(NodeClient node, string path, ReconcileView run, bool json, CancellationToken ct)
    {
        var live = !json && !Console.IsErrorRedirected;
        while (true)
        {
            var now = await node.GetAsync<ReconcileView>(path, ct);
            if (now.Value.Id != run.Id || !now.Value.IsRunning) return now;
            if (live) Console.Error.Write($"\r{Progress(now.Value)}   ");
            await Task.Delay(PollEvery, ct);
        }
    }

    private static void Report(Output output, NodeReply<ReconcileAnswerView> reply)
    {
        output.Show(reply, answer => answer.Ok
            ? [answer.Message, .. answer.Reconcile is { } r ? Lines(r) : []]
            : []);
        if (!reply.Value.Ok) throw NodeCommandException.Failed(reply.Value.Message);
    }

    private static string Progress(ReconcileView r)
    {
        var rate = r.Seconds > 0 ? r.Checked / r.Seconds : 0;
        var left = rate > 0 && r.Total > r.Checked ? $", about {TimeSpan.FromSeconds((r.Total - r.Checked) / rate):hh\\:mm\\:ss} left" : "";
        return $"{r.Checked:N0} of {(r.Total == 0 ? "?" : r.Total.ToString("N0"))} tapes checked ({rate:N0}/s{left}); " +
               $"{r.MissingCount + r.SizeDiffersCount + r.ContentDiffersCount:N0} differences, {r.Made:N0} copies made due";
    }

    private static IEnumerable<string> Lines(ReconcileView r)
    {
        var how = string.Join(", ", new[] { r.DryRun ? "dry run" : null, r.VerifyContent ? "content verified" : null, $"by the {r.Trigger}" }
            .OfType<string>());
        yield return $"{r.Pool} → {r.Target}:{r.TargetPool}: {r.SourceTapes} tapes here, {r.TargetTapes} there ({r.Seconds:F1} s; {how})";
        yield return r.State switch
        {
            "running" => $"  running: {Progress(r)}",
            "finished" => $"  finished {r.EndedAt:u}: {r.Checked} tapes checked",
            _ => $"  {r.State} {r.EndedAt:u}: {r.Detail}",
        };
        yield return $"  missing at the target: {r.MissingCount}{Some(r.Missing, r.MissingCount)}";
        yield return $"  another size there:    {r.SizeDiffersCount}{Some(r.SizeDiffers, r.SizeDiffersCount)}";
        if (r.VerifyContent) yield return $"  other content there:   {r.ContentDiffersCount}{Some(r.ContentDiffers, r.ContentDiffersCount)}";
        yield return $"  only at the target:    {r.OnlyAtTargetCount}{Some(r.OnlyAtTarget, r.OnlyAtTargetCount)} (never deleted)";
        if (r.DryRun)
        {
            yield return "  dry run: no copy made due";
            yield break;
        }
        yield return $"  copies made due:       {r.Made}";
        foreach (var n in r.NotMade.Take(Shown)) yield return $"  not made: {n.Volser}: {n.Why}";
        if (r.NotMadeCount > Shown) yield return $"  … and {r.NotMadeCount - Shown} more not made (--json lists up to 500)";
    }

    private static string Some(IReadOnlyList<string> volsers, int count) => count == 0
        ? ""
        : $"  {string.Join(' ', volsers.Take(Shown))}{(count > Shown ? $" … (+{count - Shown})" : "")}";
}
