using Akka.Actor;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>What every pool supervisor and tape actor on a node shares: settings read once at start,
/// the transport, the node's transfer gate and its event log.</summary>
public sealed record CopyEngineContext(
    string NodeName,
    string VaultRoot,
    AutoCopySettings AutoCopy,
    ITapeTransport Transport,
    IActorRef TransferGate,
    IActorRef EventLog)
{
    /// <summary>Overdue retries found at recovery start within this spread, not all at once (R8).</summary>
    public TimeSpan RecoverySpread { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Completes once the node takes EMS events. Pools wake their busy tapes only then: thousands of tape
    /// recoveries would otherwise queue the recoveries of the pools still starting, and with them the EMS port.</summary>
    public Task Started { get; init; } = Task.CompletedTask;

    /// <summary>Lists target pools for the periodic audit; none: pools are never audited (tests of the engine alone).</summary>
    public Reconcile.ITargetListing? Listing { get; init; }
}
