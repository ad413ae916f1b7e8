using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.Reconcile;

/// <summary>Who started a reconcile.</summary>
public enum ReconcileTrigger { Operator, Audit }

public enum ReconcileOutcome { Running, Finished, Cancelled, Failed }

/// <summary>Start a reconcile of the pool; answered with <see cref="ReconcileAnswer"/> (refused while one runs).</summary>
public sealed record StartReconcile(PoolName Pool, bool DryRun, bool VerifyContent) : IPoolCommand;

/// <summary>The running reconcile of the pool, or else its last; answered with <see cref="ReconcileAnswer"/>.</summary>
public sealed record GetReconcile(PoolName Pool) : IPoolCommand;

/// <summary>Ends the running reconcile; the copies it made due stay due. Answered with <see cref="ReconcileAnswer"/>.</summary>
public sealed record CancelReconcile(PoolName Pool) : IPoolCommand;

/// <param name="Done">the command did what it asked (started, cancelled); a query is always done.</param>
/// <param name="Run">the reconcile it concerns: the running one, or the last; null when none has run.</param>
public sealed record ReconcileAnswer(PoolName Pool, bool Done, string Detail, ReconcileRun? Run) : IClusterMessage;

/// <summary>Journaled when a reconcile starts (persistence id <c>reconcile-POOL</c>).</summary>
public interface IReconcileEvent;

public sealed record ReconcileStarted(string Id, ReconcileTrigger Trigger, bool DryRun, bool VerifyContent, DateTimeOffset At) : IReconcileEvent;

/// <summary>A slice of the pool checked: everything up to <paramref name="Through"/> (volser order) is done, so a
/// reconcile moved or restarted goes on after it.</summary>
/// <param name="Checked">volsers checked so far, this slice included, of <paramref name="Total"/>.</param>
public sealed record ReconcileChecked(string Id, string Through, int Checked, int Total, int SourceTapes, int TargetTapes,
    ReconcileFindings Findings) : IReconcileEvent;

public sealed record ReconcileEnded(string Id, ReconcileOutcome Outcome, string? Detail, DateTimeOffset At) : IReconcileEvent;

/// <summary>Saved when a reconcile ends: the last run and the last audit, so recovery does not replay every slice.</summary>
public sealed record ReconcileSnapshot(ReconcileRun? Last, ReconcileRun? LastAudit);

/// <summary>A reconcile as far as it got: counts of everything, and the first <see cref="Listed"/> volsers of each kind
/// (a first sync may find 100,000 missing; the journal has them all, slice by slice).</summary>
public sealed record ReconcileRun(string Id, ReconcileTrigger Trigger, bool DryRun, bool VerifyContent, DateTimeOffset StartedAt)
{
    /// <summary>Volsers kept per kind: enough for an operator, small enough to cross nodes in one message.</summary>
    public const int Listed = 500;

    public ReconcileOutcome Outcome { get; init; } = ReconcileOutcome.Running;
    public string? Detail { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public string? Through { get; init; }
    public int Checked { get; init; }
    public int Total { get; init; }
    public int SourceTapes { get; init; }
    public int TargetTapes { get; init; }
    public int MissingCount { get; init; }
    public int SizeDiffersCount { get; init; }
    public int ContentDiffersCount { get; init; }
    public int OnlyAtTargetCount { get; init; }
    public int Made { get; init; }
    public int NotMadeCount { get; init; }
    public IReadOnlyList<string> Missing { get; init; } = [];
    public IReadOnlyList<string> SizeDiffers { get; init; } = [];
    public IReadOnlyList<string> ContentDiffers { get; init; } = [];
    public IReadOnlyList<string> OnlyAtTarget { get; init; } = [];
    public IReadOnlyList<NotMade> NotMade { get; init; } = [];

    /// <summary>Tapes the target lacks or holds otherwise: what a reconcile repairs.</summary>
    public int Drift => MissingCount + SizeDiffersCount + ContentDiffersCount;

    public bool IsRunning => Outcome == ReconcileOutcome.Running;

    public static ReconcileRun From(ReconcileStarted e) => new(e.Id, e.Trigger, e.DryRun, e.VerifyContent, e.At);

    public ReconcileRun With(ReconcileChecked e) => this with
    {
        Through = e.Through,
        Checked = e.Checked,
        Total = e.Total,
        SourceTapes = e.SourceTapes,
        TargetTapes = e.TargetTapes,
        MissingCount = MissingCount + e.Findings.Missing.Count,
        SizeDiffersCount = SizeDiffersCount + e.Findings.SizeDiffers.Count,
        ContentDiffersCount = ContentDiffersCount + e.Findings.ContentDiffers.Count,
        OnlyAtTargetCount = OnlyAtTargetCount + e.Findings.OnlyAtTarget.Count,
        Made = Made + e.Findings.Made,
        NotMadeCount = NotMadeCount + e.Findings.NotMade.Count,
        Missing = Keep(Missing, e.Findings.Missing),
        SizeDiffers = Keep(SizeDiffers, e.Findings.SizeDiffers),
        ContentDiffers = Keep(ContentDiffers, e.Findings.ContentDiffers),
        OnlyAtTarget = Keep(OnlyAtTarget, e.Findings.OnlyAtTarget),
        NotMade = Keep(NotMade, e.Findings.NotMade),
    };

    public ReconcileRun With(ReconcileEnded e) => this with { Outcome = e.Outcome, Detail = e.Detail, EndedAt = e.At };

    /// <summary>Counts only: what a pool's summary carries to the status page.</summary>
    public ReconcileRun Brief() => this with { Missing = [], SizeDiffers = [], ContentDiffers = [], OnlyAtTarget = [], NotMade = [] };

    private static IReadOnlyList<T> Keep<T>(IReadOnlyList<T> kept, IReadOnlyList<T> more) =>
        kept.Count >= Listed || more.Count == 0 ? kept : [.. kept, .. more.Take(Listed - kept.Count)];
}
