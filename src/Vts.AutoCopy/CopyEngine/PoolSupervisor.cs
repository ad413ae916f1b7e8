using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Observability;
using Vts.AutoCopy.Reconcile;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Journaled before a tape actor is first given work, so a restart knows which tapes to wake.</summary>
public sealed record TapeActivated(string Volser);

/// <summary>Journaled after a tape actor stopped with nothing to do.</summary>
public sealed record TapeSettledDown(string Volser);

public sealed record PoolSnapshot(IReadOnlyList<string> ActiveVolsers);

/// <summary>The supervisor of one monitored pool, run as a Cluster Sharding entity (entity id = pool name).
/// It routes commands to per-tape copy actors, starts them on demand, and stops those with nothing to do so
/// memory follows the tapes that are busy, not every tape ever seen. Its journal is only the set of busy
/// tapes: after a restart or a move to another node it wakes exactly those, and they resume themselves.</summary>
public sealed class PoolSupervisor : ReceivePersistentActor, IWithTimers
{
    private sealed record WakeTape(string Volser) : INoSerializationVerificationNeeded;

    private sealed record StartWaking : INoSerializationVerificationNeeded;

    /// <summary>Sharding's hand-off stop message for a pool (its shard moves to another node, or this node leaves): the
    /// pool stops once every tape has ended its running attempt in the journal.</summary>
    public sealed record HandOff : INoSerializationVerificationNeeded
    {
        public static readonly HandOff Instance = new();
    }

    private sealed record HandOffOverdue : INoSerializationVerificationNeeded;

    /// <summary>A transfer that does not stop when cancelled must not hold its pool (and every event for it) for
    /// sharding's whole hand-off timeout; the new owner runs the tape's attempt again after this.</summary>
    private static readonly TimeSpan HandOffAtMost = TimeSpan.FromSeconds(20);

    private const int SnapshotEvery = 1000;
    /// <summary>Tapes of one pool recovering at once after a restart. Recoveries share the node's permits with every
    /// other persistent actor (pools, sharding's own stores); waking thousands at once would queue those behind them.</summary>
    private const int WakingAtOnce = 4;
    private static readonly TimeSpan RestartBackoff = TimeSpan.FromSeconds(5);

    private readonly PoolSettings _pool;
    private readonly CopyEngineContext _engine;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _active = [];
    private readonly Dictionary<string, IActorRef> _tapes = [];
    private readonly Dictionary<IActorRef, string> _volserOf = [];
    /// <summary>The last state each running tape reported (kept while a tape that stopped unexpectedly restarts): what
    /// operators see without waking anything.</summary>
    private readonly Dictionary<string, TapeCopyState> _states = [];
    /// <summary>The volsers of <see cref="_states"/> in order: a page of the pool's tapes starts where the last ended
    /// without sorting every busy tape again (a pool may owe 100,000 copies).</summary>
    private readonly SortedSet<string> _statesInOrder = new(StringComparer.Ordinal);
    /// <summary>Tapes asked to stop; what arrives for them meanwhile waits here, in order.</summary>
    private readonly Dictionary<string, List<(ITapeCommand Command, IActorRef Sender)>> _stopping = [];
    /// <summary>Tapes whose TapeActivated is being journaled; what arrives for them meanwhile waits here, in order.</summary>
    private readonly Dictionary<string, List<(ITapeCommand Command, IActorRef Sender)>> _activating = [];
    /// <summary>Busy tapes still to be woken after recovery, and those woken but not yet recovered.</summary>
    private readonly Queue<string> _toWake = new();
    private readonly HashSet<string> _waking = [];
    /// <summary>Runs the pool's reconciles and audits; moves with the pool.</summary>
    private readonly IActorRef _reconcile;
    private PoolReconcileActor.ReconcileChanged _reconciled = new(null, null);

    public static string PersistenceIdFor(PoolName pool) => $"pool-{pool}";

    public static Props Props(PoolSettings pool, CopyEngineContext engine) =>
        Akka.Actor.Props.Create(() => new PoolSupervisor(pool, engine));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public PoolSupervisor(PoolSettings pool, CopyEngineContext engine)
    {
        _pool = pool;
        _engine = engine;
        PersistenceId = PersistenceIdFor(pool.Name);
        _reconcile = Context.ActorOf(PoolReconcileActor.Props(pool, engine), "reconcile");

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is PoolSnapshot s) _active.UnionWith(s.ActiveVolsers);
        });
        Recover<TapeActivated>(e => _active.Add(e.Volser));
        Recover<TapeSettledDown>(e => _active.Remove(e.Volser));
        Recover<RecoveryCompleted>(_ =>
        {
            _log.Info("pool {0}: resuming {1} tapes with work pending", _pool.Name, _active.Count);
            foreach (var volser in _active) _toWake.Enqueue(volser);
            _engine.Started.PipeTo(Self, success: () => new StartWaking(), failure: _ => new StartWaking());
        });

        Command<HandOff>(_ => OnHandOff());
        Command<HandOffOverdue>(_ =>
        {
            _log.Warning("pool {0}: {1} tapes did not stop within {2} of the hand-over; stopping without them", _pool.Name,
                _tapes.Count, HandOffAtMost);
            Context.Stop(Self);
        });
        Command<ITapeCommand>(command => Deliver(command, Sender));
        Command<GetPoolSummary>(_ => Sender.Tell(Summary()));
        Command<GetPoolTapes>(query => Sender.Tell(Page(query)));
        Command<StartReconcile>(ToReconcile);
        Command<GetReconcile>(ToReconcile);
        Command<CancelReconcile>(ToReconcile);
        Command<PoolReconcileActor.ReconcileChanged>(changed => _reconciled = changed);
        Command<TapeCopyActor.TapeStateChanged>(changed =>
        {
            if (!_tapes.TryGetValue(changed.Volser.Value, out var tape) || !tape.Equals(Sender)) return;
            if (_states.TryAdd(changed.Volser.Value, changed.State)) _statesInOrder.Add(changed.Volser.Value);
            else _states[changed.Volser.Value] = changed.State;
            if (_waking.Remove(changed.Volser.Value)) WakeSome(); // its first report: it has recovered
        });
        Command<TapeCopyActor.TapeSettled>(OnTapeSettled);
        Command<TapeCopyActor.TapeStays>(OnTapeStays);
        Command<Terminated>(OnTerminated);
        Command<StartWaking>(_ =>
        {
            WakeSome();
            StartAudits();
        });
        Command<PoolReconcileActor.AuditDue>(ToReconcile);
        Command<WakeTape>(w =>
        {
            if (_active.Contains(w.Volser) && !_tapes.ContainsKey(w.Volser) && !_handingOff) StartTape(w.Volser);
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "pool {0}: snapshot not saved", _pool.Name));
    }

    private bool _handingOff;
    private bool _auditsStarted;

    /// <summary>Where in the interval a pool's first audit falls, by its name: the same on every node, and the pools of a
    /// site spread over the whole interval. A cryptographic hash, since a site's pool names differ in a last letter or
    /// digit, and a simple one left POOL01 to POOL12 within a millisecond of each other.</summary>
    public static TimeSpan FirstAudit(PoolName pool, TimeSpan every)
    {
        var hash = BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(pool.Value)));
        return TimeSpan.FromTicks((long)(every.Ticks * (hash / (ulong.MaxValue + 1.0))));
    }

    private IEnumerable<KeyValuePair<string, TapeCopyState>> Busy() =>
        _states.Where(kv => _active.Contains(kv.Key) && !kv.Value.IsSettled);

    private PoolSummary Summary()
    {
        var busy = Busy().ToList();
        var phases = busy.GroupBy(kv => kv.Value.Phase).ToDictionary(g => g.Key, g => g.Count());
        var oldest = busy.Where(kv => kv.Value.Phase != CopyPhase.Idle)
            .OrderBy(kv => kv.Value.DueSince ?? DateTimeOffset.MaxValue).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(PoolSummary.OldestOwedShown).Select(kv => new BusyTape(kv.Key, kv.Value.ForList())).ToList();
        var oldestDue = busy.Where(kv => kv.Value.Phase is CopyPhase.Due or CopyPhase.Copying or CopyPhase.WaitingToRetry)
            .Select(kv => kv.Value.DueSince).Min();
        return new PoolSummary(_pool.Name, _engine.NodeName, phases, busy.Count(kv => kv.Value.Mounted is not null), oldest, oldestDue,
            _reconciled.Latest, _reconciled.LastAudit);
    }

    private void ForgetState(string volser)
    {
        if (_states.Remove(volser)) _statesInOrder.Remove(volser);
    }

    private PoolTapes Page(GetPoolTapes query)
    {
        const int limit = GetPoolTapes.PageSize;
        var matching = From(query.After)
            .Where(volser => _active.Contains(volser))
            .Select(volser => (Volser: volser, State: _states[volser]))
            .Where(tape => !tape.State.IsSettled && (query.Phase is not { } phase || tape.State.Phase == phase))
            .Take(limit + 1)
            .Select(tape => new BusyTape(tape.Volser, tape.State.ForList()))
            .ToList();
        return new PoolTapes(_pool.Name, matching.Take(limit).ToList(), matching.Count > limit);
    }

    /// <summary>The volsers with a state, in order, after <paramref name="after"/> (all of them for null).</summary>
    private IEnumerable<string> From(string? after)
    {
        if (after is null) return _statesInOrder;
        if (_statesInOrder.Count == 0 || string.CompareOrdinal(after, _statesInOrder.Max) >= 0) return [];
        return _statesInOrder.GetViewBetween(after, _statesInOrder.Max!).Where(volser => volser != after);
    }

    /// <summary>Reconciles are the child's; nothing new starts while the pool is handed over (its sender asks the next owner).</summary>
    private void ToReconcile(object command)
    {
        if (!_handingOff) _reconcile.Forward(command);
    }

    /// <summary>Each pool audits itself every <c>audit.interval</c>, the first time at a point of the interval its name
    /// decides: the pools of a site are spread over the interval, not listed all at once, and the same on every node.</summary>
    private void StartAudits()
    {
        if (_auditsStarted || _engine.AutoCopy.AuditInterval is not { } every || _engine.Listing is null) return;
        _auditsStarted = true;
        Timers.StartPeriodicTimer("audit", new PoolReconcileActor.AuditDue(), FirstAudit(_pool.Name, every), every);
    }

    private void OnHandOff()
    {
        if (_handingOff) return;
        _handingOff = true;
        _toWake.Clear();
        if (_tapes.Count == 0)
        {
            Context.Stop(Self);
            return;
        }
        foreach (var tape in _tapes.Values) tape.Tell(new TapeCopyActor.HandOver());
        Timers.StartSingleTimer("hand-off", new HandOffOverdue(), HandOffAtMost);
    }

    private void Deliver(ITapeCommand command, IActorRef sender)
    {
        // Sharding holds what arrives for a pool being handed off; anything that slipped in is sent again by its
        // sender (EMS intake, vtsctl) until the pool's new home answers.
        if (_handingOff) return;
        var volser = command.Volser.Value;
        if (_stopping.TryGetValue(volser, out var waiting))
        {
            waiting.Add((command, sender));
            return;
        }
        if (_activating.TryGetValue(volser, out var held))
        {
            held.Add((command, sender));
            return;
        }
        // Only an EMS event or a reconcile can give a tape work; it is journaled as busy first, so a restart wakes it.
        // Queries and retries of an idle tape start its actor without a trace in the pool's journal.
        if (command is RecordMount or RecordDismount or RecordMountWithdrawn or RecordMountAccepted or RequestCopy && !_active.Contains(volser))
        {
            // Asynchronous, so many tapes of a pool are activated in one journal batch; one activation per tape at a
            // time, so its journal never reads "busy, busy, settled" while the tape has work. The tape recovers
            // meanwhile (on PostgreSQL both are round trips to the database), and gets the command once journaled.
            _activating[volser] = [(command, sender)];
            TapeFor(volser);
            PersistAsync(new TapeActivated(volser), e =>
            {
                Activate(e);
                if (!_activating.Remove(e.Volser, out var waiting)) return;
                foreach (var (c, s) in waiting) Hand(c, s);
            });
            return;
        }
        Hand(command, sender);
    }

    /// <summary>To the tape's actor, or, while that actor is being stopped, into the queue it is restarted with.</summary>
    private void Hand(ITapeCommand command, IActorRef sender)
    {
        if (_handingOff) return; // an activation journaled during the hand-off: its sender asks the new owner
        var volser = command.Volser.Value;
        if (_stopping.TryGetValue(volser, out var waiting)) waiting.Add((command, sender));
        else TapeFor(volser).Tell(command, sender);
    }

    private IActorRef TapeFor(string volser) => _tapes.TryGetValue(volser, out var tape) ? tape : StartTape(volser);

    private void WakeSome()
    {
        while (_waking.Count < WakingAtOnce && _toWake.TryDequeue(out var volser))
        {
            if (_tapes.ContainsKey(volser) || !_active.Contains(volser)) continue; // an EMS event woke it already
            StartTape(volser);
            _waking.Add(volser);
        }
    }

    private void OnTapeSettled(TapeCopyActor.TapeSettled settled)
    {
        var volser = settled.Volser.Value;
        if (!_tapes.TryGetValue(volser, out var tape) || !tape.Equals(Sender) || _stopping.ContainsKey(volser)) return;
        if (_activating.ContainsKey(volser)) return; // recovered idle while its work is being journaled: it stays for it
        _stopping[volser] = [];
        tape.Tell(new TapeCopyActor.StopIfSettled());
    }

    private void OnTapeStays(TapeCopyActor.TapeStays stays)
    {
        var volser = stays.Volser.Value;
        if (!_stopping.Remove(volser, out var waiting)) return;
        foreach (var (message, sender) in waiting) Deliver(message, sender);
    }

    private void OnTerminated(Terminated terminated)
    {
        if (!_volserOf.Remove(terminated.ActorRef, out var volser)) return;
        _tapes.Remove(volser);
        if (_handingOff)
        {
            // Its work stays journaled as pending (TapeActivated): the new owner wakes it.
            ForgetState(volser);
            if (_tapes.Count == 0) Context.Stop(Self);
            return;
        }
        if (_waking.Remove(volser)) WakeSome();
        if (!_stopping.Remove(volser, out var waiting))
        {
            // It stopped without being asked (its journal failed): try again later, never in a tight loop. Its last
            // state stays in the pool's views meanwhile: the copy is owed all the same.
            _log.Warning("pool {0}: tape {1} stopped unexpectedly; restarting in {2}", _pool.Name, volser, RestartBackoff);
            Timers.StartSingleTimer($"wake-{volser}", new WakeTape(volser), RestartBackoff);
            return;
        }
        ForgetState(volser);
        if (waiting.Count > 0)
        {
            // Through Deliver, in arrival order, so that an EMS event still journals the tape as busy first.
            foreach (var (message, sender) in waiting) Deliver(message, sender);
            return;
        }
        if (!_active.Contains(volser)) return; // it was only woken to answer a query
        Persist(new TapeSettledDown(volser), e =>
        {
            _active.Remove(e.Volser);
            SnapshotNow();
        });
    }

    private void Activate(TapeActivated e)
    {
        _active.Add(e.Volser);
        SnapshotNow();
    }

    private void SnapshotNow()
    {
        if (LastSequenceNr % SnapshotEvery == 0) SaveSnapshot(new PoolSnapshot(_active.ToList()));
    }

    private IActorRef StartTape(string volser)
    {
        var tape = Context.ActorOf(TapeCopyActor.Props(_pool, Volser.Parse(volser), _engine), volser);
        Context.Watch(tape);
        _tapes[volser] = tape;
        _volserOf[tape] = volser;
        return tape;
    }
}
