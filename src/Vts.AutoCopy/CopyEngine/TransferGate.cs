using Akka.Actor;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Observability;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Asked by a tape actor that has a copy to start; answered with <see cref="TransferSlotGranted"/>.</summary>
public sealed record RequestTransferSlot(TargetName Target, PoolName Pool, Volser Volser, DateTimeOffset DueSince);

public sealed record TransferSlotGranted(TargetName Target);

/// <summary>Gives back a granted slot, or withdraws a request still queued.</summary>
public sealed record ReleaseTransferSlot(TargetName Target);

/// <summary>Asks for the queue of every target; answered with <see cref="GateStatus"/>.</summary>
public sealed record GetGateStatus;

public sealed record TargetQueueStatus(TargetName Target, int Running, int Waiting, DateTimeOffset? OldestWaitingSince);

public sealed record GateStatus(IReadOnlyList<TargetQueueStatus> Targets, int SlotsPerTarget);

/// <summary>R13: at most N transfers per target at once; queued copies start in dismount order, taking turns
/// across pools so that one busy pool cannot starve the others. A tape actor that dies gives its slot back.</summary>
public sealed class TransferGate : ReceiveActor
{
    private sealed record Waiting(IActorRef Tape, PoolName Pool, DateTimeOffset DueSince, long Arrival);

    private sealed class TargetQueue
    {
        public readonly HashSet<IActorRef> Running = [];
        public readonly Dictionary<PoolName, List<Waiting>> WaitingByPool = [];
        public readonly LinkedList<PoolName> PoolTurns = new();
        public readonly Dictionary<IActorRef, PoolName> WaitingTapes = [];
    }

    private readonly int _slotsPerTarget;
    private readonly Dictionary<TargetName, TargetQueue> _targets = [];
    private long _arrivals;

    public static Props Props(int slotsPerTarget) => Akka.Actor.Props.Create(() => new TransferGate(slotsPerTarget));

    public TransferGate(int slotsPerTarget)
    {
        _slotsPerTarget = slotsPerTarget;
        Receive<RequestTransferSlot>(Enqueue);
        Receive<ReleaseTransferSlot>(r => Release(Sender, r.Target));
        Receive<GetGateStatus>(_ => Sender.Tell(new GateStatus(
            _targets.Select(kv => new TargetQueueStatus(kv.Key, kv.Value.Running.Count, kv.Value.WaitingTapes.Count,
                kv.Value.WaitingByPool.Values.SelectMany(w => w).Select(w => (DateTimeOffset?)w.DueSince).Min())).ToList(),
            _slotsPerTarget)));
        Receive<Terminated>(t =>
        {
            foreach (var target in _targets.Keys.ToList()) Release(t.ActorRef, target);
        });
    }

    private void Publish(TargetName target, TargetQueue queue)
    {
        AutoCopyMetrics.TransfersInFlight.WithLabels(target.Value).Set(queue.Running.Count);
        AutoCopyMetrics.TransfersWaiting.WithLabels(target.Value).Set(queue.WaitingTapes.Count);
    }

    private void Enqueue(RequestTransferSlot request)
    {
        var queue = Queue(request.Target);
        if (queue.WaitingTapes.ContainsKey(Sender)) return;
        // A tape that asks while holding a slot was restarted (same actor, fresh state): the slot it held is void.
        queue.Running.Remove(Sender);
        Context.Watch(Sender);
        if (!queue.WaitingByPool.TryGetValue(request.Pool, out var waiting))
        {
            queue.WaitingByPool[request.Pool] = waiting = [];
            queue.PoolTurns.AddLast(request.Pool);
        }
        var entry = new Waiting(Sender, request.Pool, request.DueSince, _arrivals++);
        queue.WaitingTapes[Sender] = request.Pool;
        var at = waiting.FindIndex(w => (w.DueSince, w.Arrival).CompareTo((entry.DueSince, entry.Arrival)) > 0);
        waiting.Insert(at < 0 ? waiting.Count : at, entry);
        Dispatch(request.Target, queue);
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
        while (queue.Running.Count < _slotsPerTarget && queue.PoolTurns.First is { } turn)
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
            queue.Running.Add(next.Tape);
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
