using Akka.Actor;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Observability;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Asked by a tape actor that has a copy to start; answered with <see cref="TransferSlotGranted"/>, or first with
/// <see cref="TransferSlotQueued"/> when every slot is taken. The same request told again (same <paramref name="Request"/>)
/// is answered again and changes nothing.</summary>
/// <param name="Request">numbers the tape actor's requests: a new number from the same actor is a new request.</param>
public sealed record RequestTransferSlot(TargetName Target, PoolName Pool, Volser Volser, DateTimeOffset DueSince, long Request) : IClusterMessage;

/// <summary>The request waits in the target's queue; the tape watches the gate that said so, and asks again if it dies.</summary>
public sealed record TransferSlotQueued(TargetName Target) : IClusterMessage;

public sealed record TransferSlotGranted(TargetName Target) : IClusterMessage;

/// <summary>Told by a tape that holds a slot to a gate that may not know it: the gate it was granted by has died
/// (moved to another node), and the new one must count the transfer that is still running. Answered with
/// <see cref="TransferSlotGranted"/>.</summary>
public sealed record HoldingTransferSlot(TargetName Target, PoolName Pool, Volser Volser) : IClusterMessage;

/// <summary>Gives back a granted slot, or withdraws a request still queued.</summary>
public sealed record ReleaseTransferSlot(TargetName Target) : IClusterMessage;

/// <summary>Asks for the queue of every target; answered with <see cref="GateStatus"/>.</summary>
public sealed record GetGateStatus : IClusterMessage;

public sealed record TargetQueueStatus(TargetName Target, int Running, int Waiting, DateTimeOffset? OldestWaitingSince);

public sealed record GateStatus(IReadOnlyList<TargetQueueStatus> Targets, int SlotsPerTarget) : IClusterMessage;

/// <summary>R13: at most N transfers per target at once, over the whole cluster; queued copies start in dismount order,
/// taking turns across pools so that one busy pool cannot starve the others.
/// <para>One gate serves the cluster (a cluster singleton): order and fairness need every waiting copy in one queue, and
/// its traffic is a few small messages per transfer. It watches every tape it counts, so a slot held on a node that
/// died comes back when the cluster removes that node. The tapes watch the gate in turn: when it dies (its node
/// left or died), each asks the new one again or tells it of the slot it holds. A new gate therefore waits
/// <c>handOverGrace</c> before granting anything, long enough to hear from the transfers still running.</para></summary>
public sealed class TransferGate : ReceiveActor, IWithTimers
{
    private sealed record Waiting(IActorRef Tape, PoolName Pool, DateTimeOffset DueSince, long Request, long Arrival);

    private sealed record GraceOver : INoSerializationVerificationNeeded;

    private sealed class TargetQueue
    {
        /// <summary>Each running transfer's tape, with the request it was granted for (0: told us it held a slot).</summary>
        public readonly Dictionary<IActorRef, long> Running = [];
        public readonly Dictionary<PoolName, List<Waiting>> WaitingByPool = [];
        public readonly LinkedList<PoolName> PoolTurns = new();
        public readonly Dictionary<IActorRef, PoolName> WaitingTapes = [];
    }

    private readonly int _slotsPerTarget;
    private readonly Dictionary<TargetName, TargetQueue> _targets = [];
    private long _arrivals;
    private bool _granting;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="handOverGrace">how long a new gate listens before granting; zero for a gate that is the first and
    /// only one (a test, or a node that is not part of a larger cluster).</param>
    public static Props Props(int slotsPerTarget, TimeSpan handOverGrace = default) =>
        Akka.Actor.Props.Create(() => new TransferGate(slotsPerTarget, handOverGrace));

    public TransferGate(int slotsPerTarget, TimeSpan handOverGrace)
    {
        _slotsPerTarget = slotsPerTarget;
        _granting = handOverGrace <= TimeSpan.Zero;
        Receive<RequestTransferSlot>(Enqueue);
        Receive<HoldingTransferSlot>(Holding);
        Receive<ReleaseTransferSlot>(r => Release(Sender, r.Target));
        Receive<GetGateStatus>(_ => Sender.Tell(new GateStatus(
            _targets.Select(kv => new TargetQueueStatus(kv.Key, kv.Value.Running.Count, kv.Value.WaitingTapes.Count,
                kv.Value.WaitingByPool.Values.SelectMany(w => w).Select(w => (DateTimeOffset?)w.DueSince).Min())).ToList(),
            _slotsPerTarget)));
        Receive<Terminated>(t =>
        {
            foreach (var target in _targets.Keys.ToList()) Release(t.ActorRef, target);
        });
        Receive<GraceOver>(_ =>
        {
            _granting = true;
            foreach (var (target, queue) in _targets) Dispatch(target, queue);
        });
        if (!_granting) Timers.StartSingleTimer("grace", new GraceOver(), handOverGrace);
    }

    private void Publish(TargetName target, TargetQueue queue)
    {
        AutoCopyMetrics.TransfersInFlight.WithLabels(target.Value).Set(queue.Running.Count);
        AutoCopyMetrics.TransfersWaiting.WithLabels(target.Value).Set(queue.WaitingTapes.Count);
    }

    private void Enqueue(RequestTransferSlot request)
    {
        var queue = Queue(request.Target);
        if (queue.WaitingTapes.ContainsKey(Sender))
        {
            Sender.Tell(new TransferSlotQueued(request.Target));
            return;
        }
        if (queue.Running.TryGetValue(Sender, out var granted) && granted == request.Request)
        {
            Sender.Tell(new TransferSlotGranted(request.Target)); // the answer was lost on its way
            return;
        }
        // A new request from a tape holding a slot: it was restarted (same actor, fresh state), and the slot is void.
        queue.Running.Remove(Sender);
        Context.Watch(Sender);
        if (!queue.WaitingByPool.TryGetValue(request.Pool, out var waiting))
        {
            queue.WaitingByPool[request.Pool] = waiting = [];
            queue.PoolTurns.AddLast(request.Pool);
        }
        var entry = new Waiting(Sender, request.Pool, request.DueSince, request.Request, _arrivals++);
        queue.WaitingTapes[Sender] = request.Pool;
        var at = waiting.FindIndex(w => (w.DueSince, w.Arrival).CompareTo((entry.DueSince, entry.Arrival)) > 0);
        waiting.Insert(at < 0 ? waiting.Count : at, entry);
        Dispatch(request.Target, queue);
        if (queue.WaitingTapes.ContainsKey(Sender)) Sender.Tell(new TransferSlotQueued(request.Target));
    }

    /// <summary>A transfer granted by an earlier gate is running: it counts against the target's slots, even beyond
    /// them (that gate allowed it; newer requests wait until the count is back under the limit).</summary>
    private void Holding(HoldingTransferSlot holding)
    {
        var queue = Queue(holding.Target);
        if (queue.WaitingTapes.ContainsKey(Sender)) return;
        Context.Watch(Sender);
        queue.Running.TryAdd(Sender, 0);
        Sender.Tell(new TransferSlotGranted(holding.Target));
        Publish(holding.Target, queue);
    }

    private void Release(IActorRef tape, TargetName target)
    {
        if (!_targets.TryGetValue(target, out var queue)) return;
        queue.Running.Remove(tape);
        if (queue.WaitingTapes.Remove(tape, out var pool))
        {
            var waiting = queue.WaitingByPool[pool];
            waiting.RemoveAll(w => w.Tape.Equals(tape));
            if (waiting.Count == 0) Forget(queue, pool);
        }
        Dispatch(target, queue);
    }

    private void Dispatch(TargetName target, TargetQueue queue)
    {
        while (_granting && queue.Running.Count < _slotsPerTarget && queue.PoolTurns.First is { } turn)
        {
            var pool = turn.Value;
            var waiting = queue.WaitingByPool[pool];
            var next = waiting[0];
            waiting.RemoveAt(0);
            queue.WaitingTapes.Remove(next.Tape);
            // The pool that just went moves to the back of the line.
            queue.PoolTurns.RemoveFirst();
            if (waiting.Count == 0) queue.WaitingByPool.Remove(pool);
            else queue.PoolTurns.AddLast(pool);
            queue.Running[next.Tape] = next.Request;
            next.Tape.Tell(new TransferSlotGranted(target));
        }
        Publish(target, queue);
    }

    private static void Forget(TargetQueue queue, PoolName pool)
    {
        queue.WaitingByPool.Remove(pool);
        queue.PoolTurns.Remove(pool);
    }

    private TargetQueue Queue(TargetName target)
    {
        if (!_targets.TryGetValue(target, out var queue)) _targets[target] = queue = new TargetQueue();
        return queue;
    }
}
