using System.Collections.Immutable;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Where a tape is in its copy life. Mounting is tracked beside it: a due copy can wait for a dismount.</summary>
public enum CopyPhase
{
    /// <summary>The target holds the tape's current contents (or nothing was ever due).</summary>
    Idle,
    /// <summary>A copy is due and waits for a transfer slot (or for the tape to be dismounted).</summary>
    Due,
    Copying,
    WaitingToRetry,
    /// <summary>Every attempt of the series failed (R7); waits for a new dismount or an operator's retry.</summary>
    Failed,
}

public sealed record LastCopy(long Size, string Sha256, TimeSpan Duration, DateTimeOffset At);

/// <summary>One tape's copy state. <see cref="Apply"/> folds a journaled fact into the next state; the
/// Decide functions turn what happened into the facts to journal. Neither needs an ActorSystem.</summary>
public sealed record TapeCopyState
{
    /// <summary>How many event ids a tape remembers to acknowledge a resent event without a second effect.</summary>
    public const int RememberedEventIds = 32;

    public static readonly TapeCopyState Initial = new();

    public MountMode? Mounted { get; init; }
    /// <summary>When the last dismount was taken in (R16: a mount confirmation from before it is stale, not a mount).</summary>
    public DateTimeOffset? LastDismountAt { get; init; }
    public CopyPhase Phase { get; init; } = CopyPhase.Idle;
    /// <summary>Attempts made in the current series, the running one included.</summary>
    public int Attempts { get; init; }
    /// <summary>When the copy became due: transfers start in this order (R13).</summary>
    public DateTimeOffset? DueSince { get; init; }
    public DateTimeOffset? NextAttemptAt { get; init; }
    public string? LastError { get; init; }
    public LastCopy? LastCopy { get; init; }
    public ImmutableList<string> RecentEventIds { get; init; } = ImmutableList<string>.Empty;
    /// <summary>A dismount arrived while a transfer was running (a repeated EMS line, or one whose mount was never
    /// seen): whatever that transfer ends in, a fresh series follows it, since the tape may have changed.</summary>
    public bool DueAgain { get; init; }
    /// <summary>The copy owed was made due by a reconcile, not by a dismount: it goes in the transfer gate's background
    /// lane. A dismount or an operator's retry makes it a copy like any other.</summary>
    public bool Background { get; init; }
    /// <summary>A failed series whose event-log error is not yet confirmed logged; sent again after any restart.</summary>
    public CopyFailed? UnreportedFailure { get; init; }

    /// <summary>Nothing mounted, nothing owed, nothing left to report: the actor may stop and the pool forget it.</summary>
    public bool IsSettled => Mounted is null && Phase == CopyPhase.Idle && UnreportedFailure is null;

    public bool HasSeen(string eventId) => RecentEventIds.Contains(eventId);

    /// <summary>This state as lists shown to operators carry it between nodes: without the event ids only the tape's own
    /// actor needs, its last error clipped, so that a page of tapes has a known bound on the wire.</summary>
    public TapeCopyState ForList() => this with
    {
        RecentEventIds = ImmutableList<string>.Empty,
        UnreportedFailure = null,
        LastError = LastError is { Length: > ListedErrorLength } e ? e[..(ListedErrorLength - 1)] + "…" : LastError,
    };

    public const int ListedErrorLength = 240;

    /// <summary>R5: a transfer may start only while the tape is dismounted and a copy is owed now.</summary>
    public bool MayStartAttempt(DateTimeOffset now) =>
        Mounted is null && (Phase == CopyPhase.Due || (Phase == CopyPhase.WaitingToRetry && NextAttemptAt <= now));

    public ITapeEvent[] DecideTransferOutcome(TransferOutcome outcome, RetrySettings retry, DateTimeOffset now) => outcome switch
    {
        TransferOutcome.Succeeded s => [new CopyCompleted(Attempts, s.Size, s.Sha256, s.Duration, now)],
        TransferOutcome.Cancelled c => [new AttemptCancelled(Attempts, c.Reason, now)],
        // A dismount during the attempt already started a fresh series: this failure does not end it.
        TransferOutcome.Failed f when DueAgain => [new AttemptFailed(Attempts, f.Cause, now, now)],
        TransferOutcome.Failed f when Attempts >= retry.MaxAttempts =>
            [new AttemptFailed(Attempts, f.Cause, null, now), new CopyFailed(Attempts, f.Cause, now)],
        TransferOutcome.Failed f => [new AttemptFailed(Attempts, f.Cause, now + retry.Interval, now)],
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    /// <summary>After a crash mid-transfer the attempt never ended: it is not counted, and runs again.</summary>
    public TapeCopyState Interrupted() =>
        Phase == CopyPhase.Copying ? this with { Phase = CopyPhase.Due, Attempts = Math.Max(0, Attempts - 1) } : this;

    public TapeCopyState Apply(ITapeEvent e)
    {
        var next = ApplyOne(e);
        // The transfer that was running when a dismount came has ended: the fresh series that dismount asked for starts.
        return DueAgain && e is CopyCompleted or AttemptFailed or AttemptCancelled
            ? next with { Phase = CopyPhase.Due, Attempts = 0, NextAttemptAt = null, DueAgain = false, DueSince = next.DueSince ?? e switch
            {
                CopyCompleted c => c.At,
                AttemptFailed f => f.At,
                AttemptCancelled c => c.At,
                _ => null,
            } }
            : next;
    }

    private TapeCopyState ApplyOne(ITapeEvent e) => e switch
    {
        MountRecorded m => Remember(m.EventId) with { Mounted = m.Mode },
        MountWithdrawn w => Remember(w.EventId) with { Mounted = null },
        DismountRecorded d => ApplyDismount(d),
        AttemptStarted a => this with { Phase = CopyPhase.Copying, Attempts = a.Attempt, NextAttemptAt = null },
        AttemptFailed f when f.NextAttemptAt is { } next =>
            this with { Phase = CopyPhase.WaitingToRetry, LastError = f.Cause, NextAttemptAt = next },
        AttemptFailed f => this with { LastError = f.Cause, NextAttemptAt = null },
        CopyFailed f => this with { Phase = CopyPhase.Failed, LastError = f.Cause, NextAttemptAt = null, UnreportedFailure = f },
        FailureReported r => UnreportedFailure?.At == r.FailedAt ? this with { UnreportedFailure = null } : this,
        AttemptCancelled c => this with { Phase = CopyPhase.Due, Attempts = Math.Max(0, c.Attempt - 1) },
        CopyCompleted c => this with
        {
            Phase = CopyPhase.Idle, Attempts = 0, DueSince = null, NextAttemptAt = null, LastError = null, Background = false,
            LastCopy = new LastCopy(c.Size, c.Sha256, c.Duration, c.At),
        },
        RetryRequested r => this with { Phase = CopyPhase.Due, Attempts = 0, DueSince = r.At, NextAttemptAt = null, Background = false },
        CopyRequested r => this with { Phase = CopyPhase.Due, Attempts = 0, DueSince = r.At, NextAttemptAt = null, Background = true },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, "unknown tape event"),
    };

    private TapeCopyState ApplyDismount(DismountRecorded d)
    {
        var next = Remember(d.EventId) with { Mounted = null, LastDismountAt = d.At };
        // R2: a read-only mount cannot have changed the tape. R3: an unknown mount might have.
        if (Mounted == MountMode.NoRing) return next;
        next = next with { Background = false }; // written since: a dismount copy now
        // R6: never a second transfer; the running one finishes first (a mount would have cancelled it).
        if (Phase == CopyPhase.Copying) return next with { DueAgain = true };
        // R6/R7: one due copy of the latest contents, a fresh series; it keeps its place in the queue if it had one.
        return next with
        {
            Phase = CopyPhase.Due,
            Attempts = 0,
            NextAttemptAt = null,
            DueSince = Phase is CopyPhase.Due or CopyPhase.WaitingToRetry && DueSince is { } since ? since : d.At,
        };
    }

    private TapeCopyState Remember(string eventId)
    {
        var ids = RecentEventIds.Add(eventId);
        return this with { RecentEventIds = ids.Count > RememberedEventIds ? ids.RemoveAt(0) : ids };
    }
}
