using System.Collections.Immutable;
using Akka.Actor;
using Akka.Pattern;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Licensing;
using Vts.AutoCopy.Observability;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Asked by a tape actor that has a copy to start; answered with <see cref="TransferSlotGranted"/>, or first with
/// <see cref="TransferSlotQueued"/> when every slot is taken. The same request told again (same <paramref name="Request"/>)
/// is answered again and changes nothing.</summary>
/// <param name="Request">numbers the tape actor's requests: a new number from the same actor is a new request.</param>
/// <param name="Background">a copy a reconcile made due: it waits behind every copy a dismount made due, and never takes
/// the last free slot (see <see cref="TransferGate"/>).</param>
public sealed record RequestTransferSlot(TargetName Target, PoolName Pool, Volser Volser, DateTimeOffset DueSince, long Request,
    bool Background = false) : IClusterMessage;

/// <summary>The request waits in the target's queue; the tape watches the gate that said so, and asks again if it dies.</summary>
public sealed record TransferSlotQueued(TargetName Target) : IClusterMessage;

/// <param name="Share">the part of the target's bandwidth limit the transfer may use from its first byte (bytes per
/// second; null: unlimited); later changes come as <see cref="TransferShare"/>.</param>
public sealed record TransferSlotGranted(TargetName Target, long? Share = null) : IClusterMessage;

/// <summary>Told by a tape that holds a slot to a gate that may not know it: the gate it was granted by has died
/// (moved to another node), and the new one must count the transfer that is still running. Answered with
/// <see cref="TransferSlotGranted"/>.</summary>
public sealed record HoldingTransferSlot(TargetName Target, PoolName Pool, Volser Volser) : IClusterMessage;

/// <summary>Gives back a granted slot, or withdraws a request still queued.</summary>
public sealed record ReleaseTransferSlot(TargetName Target) : IClusterMessage;

/// <summary>Asks for the queue of every target; answered with <see cref="GateStatus"/>.</summary>
public sealed record GetGateStatus : IClusterMessage;

/// <summary>From the gate to a tape that holds a slot: the part of the target's bandwidth limit its transfer may use
/// (bytes per second; null: unlimited). Told whenever it changes, never while the target is unlimited throughout.</summary>
public sealed record TransferShare(TargetName Target, long? BytesPerSecond) : IClusterMessage;

/// <summary>From a tape that holds a slot, every few seconds and once more when its transfer ends.</summary>
/// <param name="Done">bytes at the target, sent or resumed; <paramref name="Sent"/> only those that crossed the link.</param>
/// <param name="Share">the share the transfer paces itself to: the gate tells it again if that is not the one it gave
/// (a message lost between nodes must not leave a transfer faster than its share).</param>
public sealed record TransferProgress(TargetName Target, PoolName Pool, Volser Volser, long Done, long Sent, long Total, long BytesPerSecond,
    long? Share = null) : IClusterMessage;

public sealed record RunningTransfer(PoolName Pool, Volser Volser, long Done, long Total, long BytesPerSecond, long? Share);

/// <summary>A target's throughput (bytes sent per second over the sample) and queue at <paramref name="At"/>.</summary>
public sealed record TargetSample(DateTimeOffset At, long BytesPerSecond, int Running, int Waiting);

/// <param name="Limit">the bandwidth limit in force, bytes per second (null: unlimited), and its source.</param>
/// <param name="BytesPerSecond">the running transfers' rates added up.</param>
/// <param name="History">one sample every <see cref="TransferGate.SampleEvery"/> over the last hour, oldest first,
/// since the gate last started (it moves with the oldest node).</param>
public sealed record TargetQueueStatus(TargetName Target, int Running, int Waiting, DateTimeOffset? OldestWaitingSince,
    long? Limit, string LimitSource, long BytesPerSecond, IReadOnlyList<RunningTransfer> Transfers, IReadOnlyList<TargetSample> History);

/// <param name="Held">why no slot is granted (R12: no valid license); null while copies may run.</param>
public sealed record GateStatus(IReadOnlyList<TargetQueueStatus> Targets, int SlotsPerTarget, string? Held = null) : IClusterMessage;

/// <summary>R13: at most N transfers per target at once, over the whole cluster; queued copies start in dismount order,
/// taking turns across pools so that one busy pool cannot starve the others.
/// <para>One gate serves the cluster (a cluster singleton): order and fairness need every waiting copy in one queue, and
/// its traffic is a few small messages per transfer. It watches every tape it counts, so a slot held on a node that
/// died comes back when the cluster removes that node. The tapes watch the gate in turn: when it dies (its node
/// left or died), each asks the new one again or tells it of the slot it holds. A new gate therefore waits
/// <c>handOverGrace</c> before granting anything, long enough to hear from the transfers still running.</para>
/// <para>The same one queue holds each target's bandwidth limit (docs/configuration.md) over the cluster: the limit in force (an
/// operator's override, else the first schedule window that covers the time, else the configured limit) is split evenly
/// among the target's running transfers, and each is told its share whenever it changes. The sum of the shares never
/// exceeds the limit, whichever nodes the transfers run on. The overrides are journaled by a child,
/// <see cref="TargetThrottles"/>.</para>
/// <para>R12 holds copies here too: without a valid license (its child <see cref="LicenseBook"/> says), requests queue
/// as ever and nothing is granted; a key installed on any node releases them, in order, over the whole cluster.</para></summary>
public sealed class TransferGate : ReceiveActor, IWithTimers
{
    private sealed record Waiting(IActorRef Tape, PoolName Pool, DateTimeOffset DueSince, long Request, long Arrival, bool Background);

    private sealed record GraceOver : INoSerializationVerificationNeeded;

    /// <summary>The schedule turns and overrides expire on the clock: the limits are looked at again on every tick.</summary>
    private sealed record Tick : INoSerializationVerificationNeeded;

    private sealed record Sample : INoSerializationVerificationNeeded;

    public static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(15);
    private static readonly int SamplesKept = (int)(TimeSpan.FromHours(1) / SampleEvery);

    private sealed class TargetQueue
    {
        /// <summary>Each running transfer's tape, with the request it was granted for (0: told us it held a slot).</summary>
        public readonly Dictionary<IActorRef, long> Running = [];
        public readonly Dictionary<PoolName, List<Waiting>> WaitingByPool = [];
        public readonly LinkedList<PoolName> PoolTurns = new();
        public readonly Dictionary<IActorRef, PoolName> WaitingTapes = [];
        /// <summary>The share each running tape was last told; a tape never told runs unlimited.</summary>
        public readonly Dictionary<IActorRef, long?> Shares = [];
        public readonly Dictionary<IActorRef, TransferProgress> Progress = [];
        public readonly Queue<TargetSample> History = new();
        public long SentSinceSample;
        public LimitNow Limit = new(null, "configuration");
    }

    private readonly int _slotsPerTarget;
    private readonly IReadOnlyDictionary<TargetName, BandwidthSettings> _bandwidth;
    private readonly TimeProvider _clock;
    private readonly IActorRef _throttles;
    private readonly IActorRef? _license;
    private LicenseState _licenseState;
    private readonly IActorRef? _eventLog;
    private readonly string _node;
    /// <summary>Pools told of as held on a day: one warning per pool (not per tape) and day.</summary>
    private readonly HashSet<(PoolName Pool, DateOnly Day)> _heldTold = [];
    private ImmutableDictionary<TargetName, ThrottleOverride> _overrides = ImmutableDictionary<TargetName, ThrottleOverride>.Empty;
    private readonly Dictionary<TargetName, TargetQueue> _targets = [];
    private DateTimeOffset _sampledAt;
    private long _arrivals;
    private bool _granting;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="handOverGrace">how long a new gate listens before granting; zero for a gate that is the first and
    /// only one (a test, or a node that is not part of a larger cluster).</param>
    /// <param name="bandwidth">each target's limit and schedule; a target not named is unlimited.</param>
    /// <param name="clock">the schedule's clock (node time) and the overrides' expiry.</param>
    /// <param name="license">R12's settings; none: copies are never held for a license (tests of the gate alone).</param>
    /// <param name="eventLog">where the license's notices go, naming <paramref name="node"/>.</param>
    public static Props Props(int slotsPerTarget, TimeSpan handOverGrace = default,
        IReadOnlyDictionary<TargetName, BandwidthSettings>? bandwidth = null, TimeProvider? clock = null,
        LicenseSettings? license = null, IActorRef? eventLog = null, string node = "") =>
        Akka.Actor.Props.Create(() => new TransferGate(slotsPerTarget, handOverGrace,
            bandwidth ?? ImmutableDictionary<TargetName, BandwidthSettings>.Empty, clock ?? TimeProvider.System, license, eventLog, node));

    public TransferGate(int slotsPerTarget, TimeSpan handOverGrace, IReadOnlyDictionary<TargetName, BandwidthSettings> bandwidth,
        TimeProvider clock, LicenseSettings? license, IActorRef? eventLog, string node)
    {
        _slotsPerTarget = slotsPerTarget;
        _bandwidth = bandwidth;
        _clock = clock;
        _sampledAt = clock.GetUtcNow();
        _granting = handOverGrace <= TimeSpan.Zero;
        _throttles = Context.ActorOf(BackoffSupervisor.Props(Backoff.OnStop(TargetThrottles.Props(Self, clock), "journal",
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1)), "throttles");
        _eventLog = eventLog;
        _node = node;
        _licenseState = license is null ? LicenseState.Unknown with { CopiesAllowed = true, State = "not checked" } : LicenseState.Unknown;
        if (license is not null)
            _license = Context.ActorOf(BackoffSupervisor.Props(Backoff.OnStop(LicenseBook.Props(Self, license, eventLog, node, clock), "book",
                TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1)), "license");
        foreach (var target in bandwidth.Keys) Queue(target);
        Receive<RequestTransferSlot>(Enqueue);
        Receive<HoldingTransferSlot>(Holding);
        Receive<ReleaseTransferSlot>(r => Release(Sender, r.Target));
        Receive<TransferProgress>(Progress);
        Receive<ThrottleTarget>(t => _throttles.Forward(t));
        Receive<ThrottlesNow>(t =>
        {
            _overrides = t.Overrides;
            Reshare();
        });
        Receive<LicenseState>(state =>
        {
            _licenseState = state;
            foreach (var (target, queue) in _targets) Dispatch(target, queue);
            TellHeld();
        });
        Receive<EntryLogged>(_ => { }); // the event log's answer to a keyed entry
        Receive<InstallLicense>(i =>
        {
            if (_license is null) Sender.Tell(new LicenseInstallAnswer(false, "this gate checks no license"));
            else _license.Forward(i);
        });
        Receive<GetLicense>(_ => Sender.Tell(_licenseState.CopiesAllowed
            ? _licenseState
            : _licenseState with { Held = _targets.Values.Sum(q => q.WaitingTapes.Count) }));
        Receive<Tick>(_ =>
        {
            Reshare();
            TellHeld(); // a new day: each pool still held is told of again
        });
        Receive<Sample>(_ => TakeSample());
        Receive<GetGateStatus>(_ => Sender.Tell(new GateStatus(_targets.Select(kv => Status(kv.Key, kv.Value)).ToList(), _slotsPerTarget,
            _licenseState.CopiesAllowed ? null : LicenseState.HeldBecause(_licenseState))));
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
        Timers.StartPeriodicTimer("tick", new Tick(), TimeSpan.FromSeconds(1));
        Timers.StartPeriodicTimer("sample", new Sample(), SampleEvery);
    }

    private TargetQueueStatus Status(TargetName target, TargetQueue queue) => new(target, queue.Running.Count, queue.WaitingTapes.Count,
        queue.WaitingByPool.Values.SelectMany(w => w).Select(w => (DateTimeOffset?)w.DueSince).Min(),
        queue.Limit.Limit, queue.Limit.Source,
        queue.Progress.Values.Sum(p => p.BytesPerSecond),
        queue.Progress.Select(kv => new RunningTransfer(kv.Value.Pool, kv.Value.Volser, kv.Value.Done, kv.Value.Total,
            kv.Value.BytesPerSecond, queue.Shares.GetValueOrDefault(kv.Key))).OrderBy(t => t.Pool.Value).ThenBy(t => t.Volser.Value).ToList(),
        queue.History.ToList());

    /// <summary>The limit in force for a target now: an override, else the first schedule window, else the configuration.</summary>
    private LimitNow LimitOf(TargetName target)
    {
        var now = _clock.GetUtcNow();
        if (_overrides.TryGetValue(target, out var set) && set.InForce(now))
            return new LimitNow(set.Limit, set.Until is { } until ? $"override until {until.ToLocalTime():yyyy-MM-dd HH:mm}" : "override");
        return _bandwidth.TryGetValue(target, out var configured) ? configured.At(_clock.GetLocalNow().DateTime) : new LimitNow(null, "configuration");
    }

    private void Reshare()
    {
        foreach (var (target, queue) in _targets)
        {
            Reshare(target, queue);
            Publish(target, queue);
        }
    }

    /// <summary>Splits the target's limit evenly among its running transfers and tells each whose share changed; the
    /// ones just <paramref name="granted"/> hear theirs with the grant, so that no transfer starts faster than its share.</summary>
    private void Reshare(TargetName target, TargetQueue queue, IReadOnlyCollection<IActorRef>? granted = null)
    {
        queue.Limit = LimitOf(target);
        var share = queue.Limit.Limit / Math.Max(1, queue.Running.Count);
        foreach (var tape in queue.Running.Keys)
        {
            if (granted?.Contains(tape) == true)
            {
                if (share is not null) queue.Shares[tape] = share;
                tape.Tell(new TransferSlotGranted(target, share));
                continue;
            }
            if (queue.Shares.GetValueOrDefault(tape) == share) continue;
            queue.Shares[tape] = share;
            tape.Tell(new TransferShare(target, share));
        }
    }

    private void Progress(TransferProgress progress)
    {
        if (!_targets.TryGetValue(progress.Target, out var queue) || !queue.Running.TryGetValue(Sender, out var request)) return;
        // A tape's next attempt counts from zero again; a transfer granted by an earlier gate (request 0) counts from its
        // first report here, not from its start (those bytes were in the earlier gate's samples).
        var before = queue.Progress.TryGetValue(Sender, out var last)
            ? (last.Sent <= progress.Sent ? last.Sent : 0)
            : (request == 0 ? progress.Sent : 0);
        var share = queue.Shares.GetValueOrDefault(Sender);
        if (progress.Share != share) Sender.Tell(new TransferShare(progress.Target, share));
        queue.SentSinceSample += progress.Sent - before;
        queue.Progress[Sender] = progress;
        Publish(progress.Target, queue);
    }

    private void TakeSample()
    {
        var now = _clock.GetUtcNow();
        var seconds = Math.Max(1, (now - _sampledAt).TotalSeconds);
        _sampledAt = now;
        foreach (var queue in _targets.Values)
        {
            queue.History.Enqueue(new TargetSample(now, (long)(queue.SentSinceSample / seconds), queue.Running.Count, queue.WaitingTapes.Count));
            queue.SentSinceSample = 0;
            while (queue.History.Count > SamplesKept) queue.History.Dequeue();
        }
    }

    private void Publish(TargetName target, TargetQueue queue)
    {
        AutoCopyMetrics.TransfersInFlight.WithLabels(target.Value).Set(queue.Running.Count);
        AutoCopyMetrics.TransfersWaiting.WithLabels(target.Value).Set(queue.WaitingTapes.Count);
        AutoCopyMetrics.BandwidthLimit.WithLabels(target.Value).Set(queue.Limit.Limit ?? 0);
        AutoCopyMetrics.TransferRate.WithLabels(target.Value).Set(queue.Progress.Values.Sum(p => p.BytesPerSecond));
    }

    private void Enqueue(RequestTransferSlot request)
    {
        var queue = Queue(request.Target);
        if (queue.WaitingTapes.TryGetValue(Sender, out var waitingIn))
        {
            if (!request.Background) Promote(request.Target, queue, queue.WaitingByPool[waitingIn]);
            if (queue.WaitingTapes.ContainsKey(Sender)) Sender.Tell(new TransferSlotQueued(request.Target));
            return;
        }
        if (queue.Running.TryGetValue(Sender, out var granted) && granted == request.Request)
        {
            Sender.Tell(new TransferSlotGranted(request.Target, queue.Shares.GetValueOrDefault(Sender))); // the answer was lost on its way
            return;
        }
        // A new request from a tape holding a slot: it was restarted (same actor, fresh state), and the slot is void.
        queue.Running.Remove(Sender);
        queue.Shares.Remove(Sender);
        queue.Progress.Remove(Sender);
        Context.Watch(Sender);
        if (!queue.WaitingByPool.TryGetValue(request.Pool, out var waiting))
        {
            queue.WaitingByPool[request.Pool] = waiting = [];
            queue.PoolTurns.AddLast(request.Pool);
        }
        var entry = new Waiting(Sender, request.Pool, request.DueSince, request.Request, _arrivals++, request.Background);
        queue.WaitingTapes[Sender] = request.Pool;
        Insert(waiting, entry);
        Dispatch(request.Target, queue);
        if (queue.WaitingTapes.ContainsKey(Sender)) Sender.Tell(new TransferSlotQueued(request.Target));
        TellHeld();
    }

    /// <summary>A dismount made a reconcile's copy waiting here a dismount copy: it leaves the background lane for its
    /// place among the pool's dismount copies (by when it became due).</summary>
    private void Promote(TargetName target, TargetQueue queue, List<Waiting> waiting)
    {
        var at = waiting.FindIndex(w => w.Tape.Equals(Sender));
        if (at < 0 || !waiting[at].Background) return;
        var entry = waiting[at] with { Background = false };
        waiting.RemoveAt(at);
        Insert(waiting, entry);
        Dispatch(target, queue);
    }

    /// <summary>Within a pool: dismount copies first (in dismount order), then a reconcile's.</summary>
    private static void Insert(List<Waiting> waiting, Waiting entry)
    {
        var at = waiting.FindIndex(w => (w.Background, w.DueSince, w.Arrival).CompareTo((entry.Background, entry.DueSince, entry.Arrival)) > 0);
        waiting.Insert(at < 0 ? waiting.Count : at, entry);
    }

    /// <summary>R12: one event-log warning per pool and day whose copies wait for want of a license.</summary>
    private void TellHeld()
    {
        if (_licenseState.CopiesAllowed || _licenseState.State == LicenseState.Unknown.State || _eventLog is null) return;
        var today = DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);
        foreach (var pool in _targets.Values.SelectMany(q => q.WaitingByPool.Keys).Distinct())
            if (_heldTold.Add((pool, today)))
                _eventLog.Tell(new EventLogEntry(_clock.GetUtcNow(), Severity.Warning, MessageIds.CopiesHeld, _node, pool.Value, null,
                    $"copies of pool {pool} are held: {_licenseState.Detail}; vtsctl license install KEY releases them",
                    $"license-held-{pool}-{today:yyyyMMdd}"));
    }

    /// <summary>A transfer granted by an earlier gate is running: it counts against the target's slots, even beyond
    /// them (that gate allowed it; newer requests wait until the count is back under the limit).</summary>
    private void Holding(HoldingTransferSlot holding)
    {
        var queue = Queue(holding.Target);
        if (queue.WaitingTapes.ContainsKey(Sender)) return;
        Context.Watch(Sender);
        if (queue.Running.TryAdd(Sender, 0)) Reshare(holding.Target, queue, granted: [Sender]);
        else Sender.Tell(new TransferSlotGranted(holding.Target, queue.Shares.GetValueOrDefault(Sender)));
        Publish(holding.Target, queue);
    }

    private void Release(IActorRef tape, TargetName target)
    {
        if (!_targets.TryGetValue(target, out var queue)) return;
        queue.Running.Remove(tape);
        queue.Shares.Remove(tape);
        queue.Progress.Remove(tape);
        if (queue.WaitingTapes.Remove(tape, out var pool))
        {
            var waiting = queue.WaitingByPool[pool];
            waiting.RemoveAll(w => w.Tape.Equals(tape));
            if (waiting.Count == 0) Forget(queue, pool);
        }
        Dispatch(target, queue);
    }

    /// <summary>Grants free slots: pools take turns, each pool's copies in dismount order. A reconcile's copies (the
    /// background lane) go only when no dismount copy waits, and leave one slot free for the next dismount copy (all
    /// of them may run when the target has one slot).</summary>
    private void Dispatch(TargetName target, TargetQueue queue)
    {
        var granted = new List<IActorRef>();
        while (_granting && _licenseState.CopiesAllowed && queue.Running.Count < _slotsPerTarget && NextTurn(queue) is { } turn)
        {
            var pool = turn.Value;
            var waiting = queue.WaitingByPool[pool];
            var next = waiting[0];
            if (next.Background && queue.Running.Count >= Math.Max(1, _slotsPerTarget - 1)) break;
            waiting.RemoveAt(0);
            queue.WaitingTapes.Remove(next.Tape);
            // The pool that just went moves to the back of the line.
            queue.PoolTurns.Remove(turn);
            if (waiting.Count == 0) queue.WaitingByPool.Remove(pool);
            else queue.PoolTurns.AddLast(pool);
            queue.Running[next.Tape] = next.Request;
            granted.Add(next.Tape);
        }
        Reshare(target, queue, granted);
        Publish(target, queue);
    }

    /// <summary>The first pool in line with a dismount copy at its head; else the first in line (its head a reconcile's).</summary>
    private static LinkedListNode<PoolName>? NextTurn(TargetQueue queue)
    {
        for (var turn = queue.PoolTurns.First; turn is not null; turn = turn.Next)
            if (!queue.WaitingByPool[turn.Value][0].Background) return turn;
        return queue.PoolTurns.First;
    }

    private static void Forget(TargetQueue queue, PoolName pool)
    {
        queue.WaitingByPool.Remove(pool);
        queue.PoolTurns.Remove(pool);
    }

    private TargetQueue Queue(TargetName target)
    {
        if (!_targets.TryGetValue(target, out var queue))
        {
            _targets[target] = queue = new TargetQueue();
            queue.Limit = LimitOf(target);
        }
        return queue;
    }
}
