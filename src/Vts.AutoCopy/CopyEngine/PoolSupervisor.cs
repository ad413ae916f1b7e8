using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;

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
    private sealed record WakeTape(string Volser);

    private const int SnapshotEvery = 1000;
    private static readonly TimeSpan RestartBackoff = TimeSpan.FromSeconds(5);

    private readonly PoolSettings _pool;
    private readonly CopyEngineContext _engine;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _active = [];
    private readonly Dictionary<string, IActorRef> _tapes = [];
    private readonly Dictionary<IActorRef, string> _volserOf = [];
    /// <summary>Tapes asked to stop; what arrives for them meanwhile waits here, in order.</summary>
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _stopping = [];

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

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is PoolSnapshot s) _active.UnionWith(s.ActiveVolsers);
        });
        Recover<TapeActivated>(e => _active.Add(e.Volser));
        Recover<TapeSettledDown>(e => _active.Remove(e.Volser));
        Recover<RecoveryCompleted>(_ =>
        {
            _log.Info("pool {0}: resuming {1} tapes with work pending", _pool.Name, _active.Count);
            foreach (var volser in _active) StartTape(volser);
        });

        Command<ITapeCommand>(Deliver);
        Command<WakePool>(_ => { });
        Command<TapeCopyActor.TapeSettled>(OnTapeSettled);
        Command<TapeCopyActor.TapeStays>(OnTapeStays);
        Command<Terminated>(OnTerminated);
        Command<WakeTape>(w =>
        {
            if (_active.Contains(w.Volser) && !_tapes.ContainsKey(w.Volser)) StartTape(w.Volser);
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "pool {0}: snapshot not saved", _pool.Name));
    }

    private void Deliver(ITapeCommand command)
    {
        var volser = command.Volser.Value;
        if (_stopping.TryGetValue(volser, out var waiting))
        {
            waiting.Add((command, Sender));
            return;
        }
        if (_tapes.TryGetValue(volser, out var tape))
        {
            tape.Forward(command);
            return;
        }
        if (_active.Contains(volser))
        {
            StartTape(volser).Forward(command);
            return;
        }
        var sender = Sender;
        Persist(new TapeActivated(volser), e =>
        {
            Activate(e);
            StartTape(volser).Tell(command, sender);
        });
    }

    private void OnTapeSettled(TapeCopyActor.TapeSettled settled)
    {
        var volser = settled.Volser.Value;
        if (!_tapes.TryGetValue(volser, out var tape) || !tape.Equals(Sender) || _stopping.ContainsKey(volser)) return;
        _stopping[volser] = [];
        tape.Tell(new TapeCopyActor.StopIfSettled());
    }

    private void OnTapeStays(TapeCopyActor.TapeStays stays)
    {
        var volser = stays.Volser.Value;
        if (!_stopping.Remove(volser, out var waiting) || !_tapes.TryGetValue(volser, out var tape)) return;
        foreach (var (message, sender) in waiting) tape.Tell(message, sender);
    }

    private void OnTerminated(Terminated terminated)
    {
        if (!_volserOf.Remove(terminated.ActorRef, out var volser)) return;
        _tapes.Remove(volser);
        if (!_stopping.Remove(volser, out var waiting))
        {
            // It stopped without being asked (its journal failed): try again later, never in a tight loop.
            _log.Warning("pool {0}: tape {1} stopped unexpectedly; restarting in {2}", _pool.Name, volser, RestartBackoff);
            Timers.StartSingleTimer($"wake-{volser}", new WakeTape(volser), RestartBackoff);
            return;
        }
        if (waiting.Count > 0)
        {
            var tape = StartTape(volser);
            foreach (var (message, sender) in waiting) tape.Tell(message, sender);
            return;
        }
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
