using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Serialization;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Anything routed to a pool's supervisor; the pool name is the shard and entity id (docs/cluster.md).</summary>
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

/// <summary>R16: EMS 648, a mount request became a mount. Usually the request was counted already and nothing changes;
/// if the tape is not mounted in our state (its request was lost, or came before a withdrawal), the mount is journaled
/// now, as read/write: a missed disaster-recovery copy is worse than an extra one (as R3). Answered with
/// <see cref="TapeEventJournaled"/>.</summary>
public sealed record RecordMountAccepted(PoolName Pool, Volser Volser, string EventId, DateTimeOffset At) : ITapeCommand;

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

/// <summary>What a pool owes, in counts; answered with <see cref="PoolSummary"/>. Counts and a short list, never every
/// tape: a pool may owe 100,000 copies after a first reconcile, and the answer crosses nodes in one remote frame (a
/// list of every busy tape stopped fitting at about 800 tapes, and the nodes asking waited for ever).</summary>
public sealed record GetPoolSummary(PoolName Pool) : IPoolCommand;

/// <param name="Node">the node the pool runs on now.</param>
/// <param name="Busy">how many tapes are in each phase, of those held in memory (idle tapes mostly are not).</param>
/// <param name="Mounted">busy tapes mounted now.</param>
/// <param name="OldestOwed">up to <see cref="OldestOwedShown"/> tapes that are not idle, the longest due first.</param>
/// <param name="OldestDueSince">when the longest-owed copy still to make (due, copying or waiting to retry) became due.</param>
/// <param name="Reconcile">the running reconcile, or else the last (counts only).</param>
/// <param name="LastAudit">the last periodic audit that ended (counts only).</param>
public sealed record PoolSummary(PoolName Pool, string Node, IReadOnlyDictionary<CopyPhase, int>? Busy, int Mounted,
    IReadOnlyList<BusyTape>? OldestOwed, DateTimeOffset? OldestDueSince,
    Reconcile.ReconcileRun? Reconcile = null, Reconcile.ReconcileRun? LastAudit = null) : IClusterMessage
{
    public const int OldestOwedShown = 50;

    // Absent in the answer of a node of an earlier build, which listed every busy tape instead (same manifest, so that
    // nodes of both builds can start beside each other in a rolling upgrade): read as nothing busy.
    public IReadOnlyDictionary<CopyPhase, int> Busy { get; init; } = Busy ?? new Dictionary<CopyPhase, int>();
    public IReadOnlyList<BusyTape> OldestOwed { get; init; } = OldestOwed ?? [];

    public int Count(CopyPhase phase) => Busy.GetValueOrDefault(phase);

    /// <summary>Copies still to make: due, copying or waiting to retry.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Owed => Count(CopyPhase.Due) + Count(CopyPhase.Copying) + Count(CopyPhase.WaitingToRetry);
}

/// <summary>One busy tape as shown to operators: its state without what only its own actor needs.</summary>
public sealed record BusyTape(string Volser, TapeCopyState State);

/// <summary>A page of a pool's busy tapes in volser order, those after <paramref name="After"/>, of one phase if given;
/// answered with <see cref="PoolTapes"/>. A page is bounded so that it crosses nodes in one remote frame.</summary>
public sealed record GetPoolTapes(PoolName Pool, CopyPhase? Phase, string? After) : IPoolCommand
{
    /// <summary>A listed tape takes about 500 bytes on the wire, and at worst about 2 KB (an error of quotes or
    /// non-ASCII letters, each escaped to six bytes): a page stays under 128,000 bytes as a rule and well under the
    /// node's frame (1 MiB) at worst.</summary>
    public const int PageSize = 150;
}

/// <param name="More">tapes after this page match too.</param>
public sealed record PoolTapes(PoolName Pool, IReadOnlyList<BusyTape> Tapes, bool More) : IClusterMessage;
