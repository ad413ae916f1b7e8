using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Facts about one tape's copy life, journaled by <see cref="TapeCopyActor"/> before they take effect.
/// Fields are plain values so the journal stays readable and stable (see Serialization).</summary>
public interface ITapeEvent;

public sealed record MountRecorded(string EventId, MountMode Mode, DateTimeOffset At) : ITapeEvent;

/// <summary>R16: the host cancelled the mount request (EMS 649) or it was rejected (651): the tape was never mounted, so
/// a copy due before the request runs as it would have.</summary>
public sealed record MountWithdrawn(string EventId, string Reason, DateTimeOffset At) : ITapeEvent;

/// <param name="MountKnown">false when no mount was seen first (R3): the copy is made due all the same.</param>
public sealed record DismountRecorded(string EventId, bool MountKnown, DateTimeOffset At) : ITapeEvent;

public sealed record AttemptStarted(int Attempt, DateTimeOffset At) : ITapeEvent;

/// <param name="NextAttemptAt">null when this was the last attempt allowed; <see cref="CopyFailed"/> follows.</param>
public sealed record AttemptFailed(int Attempt, string Cause, DateTimeOffset? NextAttemptAt, DateTimeOffset At) : ITapeEvent;

/// <summary>A mount during a transfer stopped it (R5); not counted as a failed attempt.</summary>
public sealed record AttemptCancelled(int Attempt, string Reason, DateTimeOffset At) : ITapeEvent;

public sealed record CopyCompleted(int Attempt, long Size, string Sha256, TimeSpan Duration, DateTimeOffset At) : ITapeEvent;

public sealed record CopyFailed(int Attempts, string Cause, DateTimeOffset At) : ITapeEvent;

/// <summary>An operator asked for a fresh series of attempts (vtsctl autocopy retry).</summary>
public sealed record RetryRequested(DateTimeOffset At) : ITapeEvent;

/// <summary>A reconcile found the target's copy missing or of another size (<paramref name="Reason"/>): a fresh
/// series of attempts is due.</summary>
public sealed record CopyRequested(string Reason, DateTimeOffset At) : ITapeEvent;

/// <summary>The event log holds the one error entry for the failed series that ended at <see cref="FailedAt"/> (R7).</summary>
public sealed record FailureReported(DateTimeOffset FailedAt) : ITapeEvent;
