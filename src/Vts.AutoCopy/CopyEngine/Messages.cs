using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Serialization;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Anything routed to a pool's supervisor; the pool name is the shard and entity id (SPEC §5).</summary>
public interface IPoolCommand : IClusterMessage
{
    PoolName Pool { get; }
}

/// <summary>Anything the pool supervisor hands on to one tape's copy actor.</summary>
public interface ITapeCommand : IPoolCommand
{
    Volser Volser { get; }
}

/// <summary>An EMS mount, to be journaled; answered with <see cref="TapeEventJournaled"/>.</summary>
public sealed record RecordMount(PoolName Pool, Volser Volser, string EventId, MountMode Mode, DateTimeOffset At) : ITapeCommand;

/// <summary>R16: a mount request cancelled by the host or rejected, to be journaled; answered with <see cref="TapeEventJournaled"/>.</summary>
/// <param name="Reason">"cancelled" (EMS 649) or "rejected" (651).</param>
public sealed record RecordMountWithdrawn(PoolName Pool, Volser Volser, string EventId, string Reason, DateTimeOffset At) : ITapeCommand;

/// <summary>An EMS dismount, to be journaled; answered with <see cref="TapeEventJournaled"/>.</summary>
public sealed record RecordDismount(PoolName Pool, Volser Volser, string EventId, DateTimeOffset At) : ITapeCommand;

/// <param name="Duplicate">the id was seen before: acknowledged again, no second effect.</param>
public sealed record TapeEventJournaled(string EventId, bool Duplicate) : IClusterMessage;

/// <summary>Start a fresh series of attempts for a failed tape (R7); answered with <see cref="RetryAnswer"/>.</summary>
public sealed record RetryCopy(PoolName Pool, Volser Volser) : ITapeCommand;

public sealed record RetryAnswer(bool Started, string Detail) : IClusterMessage;

/// <summary>A reconcile found the target without this tape, or with another size of it: a copy is made due unless one
/// is owed already or the tape is mounted (its dismount decides). Answered with <see cref="CopyRequestAnswer"/>.</summary>
public sealed record RequestCopy(PoolName Pool, Volser Volser, string Reason) : ITapeCommand;

public sealed record CopyRequestAnswer(bool Made, string Detail) : IClusterMessage;

public sealed record GetTapeStatus(PoolName Pool, Volser Volser) : ITapeCommand;

/// <param name="Known">the tape has a journal: it was seen by AutoCopy at least once.</param>
/// <param name="Transfer">the running transfer's progress, if one runs.</param>
public sealed record TapeStatus(PoolName Pool, Volser Volser, TapeCopyState State, bool Known, MeterReading? Transfer = null) : IClusterMessage;

/// <summary>The copy states of a pool's busy tapes (idle ones are not held in memory); answered with <see cref="PoolSummary"/>.</summary>
public sealed record GetPoolSummary(PoolName Pool) : IPoolCommand;

/// <param name="Node">the node the pool runs on now.</param>
/// <param name="Reconcile">the running reconcile, or else the last (counts only).</param>
/// <param name="LastAudit">the last periodic audit that ended (counts only).</param>
public sealed record PoolSummary(PoolName Pool, string Node, IReadOnlyDictionary<string, TapeCopyState> BusyTapes,
    Reconcile.ReconcileRun? Reconcile = null, Reconcile.ReconcileRun? LastAudit = null) : IClusterMessage;
