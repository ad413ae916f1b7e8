using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>A transport whose attempts the test decides: each call waits for the test to answer it,
/// or is answered at once by <see cref="Always"/>. It records every call, and flags two at once for one tape.</summary>
public sealed class ScriptedTransport : ITapeTransport
{
    public sealed record Call(TransferRequest Request, TaskCompletionSource<TransferOutcome> Outcome, CancellationToken Cancellation);

    private readonly ConcurrentDictionary<string, int> _running = new();
    public readonly BlockingCollection<Call> Calls = new();
    public int Count;
    public bool OverlapSeen;
    public Func<TransferRequest, TransferOutcome>? Always { get; set; }

    public async Task<TransferOutcome> CopyAsync(TransferRequest request, CancellationToken cancellation)
    {
        Interlocked.Increment(ref Count);
        var key = request.Volser.Value;
        if (_running.AddOrUpdate(key, 1, (_, n) => n + 1) > 1) OverlapSeen = true;
        try
        {
            if (Always is { } answer) return answer(request);
            var call = new Call(request, new TaskCompletionSource<TransferOutcome>(TaskCreationOptions.RunContinuationsAsynchronously), cancellation);
            Calls.Add(call);
            await using var _ = cancellation.Register(() => call.Outcome.TrySetResult(new TransferOutcome.Cancelled("tape mounted during transfer")));
            return await call.Outcome.Task;
        }
        finally
        {
            _running.AddOrUpdate(key, 0, (_, n) => n - 1);
        }
    }

    public Call Next(TimeSpan timeout) =>
        Calls.TryTake(out var call, timeout) ? call : throw new TimeoutException("no transfer was started");
}

public static class EngineHarness
{
    public static readonly PoolName Pool1 = PoolName.Parse("POOL1");
    public static readonly PoolName Pool2 = PoolName.Parse("POOL2");
    public static readonly TargetName Dr = TargetName.Parse("dr");

    /// <summary>Every message is serialized as if it crossed nodes (and every persisted one as if journaled): a message
    /// without a serializer fails a test here, not a cluster.</summary>
    public static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.persistence.journal.inmem.serialize-messages = on
        akka.persistence.snapshot-store.inmem.serialize-snapshots = on
        akka.actor.serialize-messages = on
        akka.loglevel = WARNING
        """).WithFallback(ConfigurationFactory.ParseString(Vts.AutoCopy.Serialization.VtsSerializer.Hocon));

    public static AutoCopySettings Settings(int maxAttempts = 12, TimeSpan? interval = null, int slots = 2)
    {
        var target = new TargetSettings(Dr, "127.0.0.1", 22, "vts", "/dev/null", new HostKeyPin("SHA256:x", null),
            "/vault", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        return new AutoCopySettings(
            new RetrySettings(interval ?? TimeSpan.FromMinutes(5), maxAttempts), slots,
            ImmutableDictionary<TargetName, TargetSettings>.Empty.Add(Dr, target),
            ImmutableDictionary<PoolName, PoolSettings>.Empty
                .Add(Pool1, new PoolSettings(Pool1, Dr, PoolName.Parse("DRPOOL1")))
                .Add(Pool2, new PoolSettings(Pool2, Dr, PoolName.Parse("DRPOOL2"))));
    }
}

/// <summary>One node's copy engine without the cluster: pool supervisors created directly, the real gate,
/// an event-log probe and a scripted transport.</summary>
public sealed class Engine
{
    private readonly TestKitBase _kit;
    public readonly ScriptedTransport Transport = new();
    public readonly TestProbe EventLog;
    public readonly CopyEngineContext Context;
    private readonly Dictionary<PoolName, IActorRef> _pools = [];
    private int _generation;

    /// <param name="started">when the node takes EMS events (pools wake busy tapes only then); now if null.</param>
    /// <param name="vaultRoot">the source vault (a real folder for reconciles); "/vault" if null.</param>
    /// <param name="listing">what reconciles see of the target; none if null (a reconcile then fails).</param>
    public Engine(TestKitBase kit, AutoCopySettings settings, Task? started = null, string? vaultRoot = null,
        Vts.AutoCopy.Reconcile.ITargetListing? listing = null)
    {
        _kit = kit;
        EventLog = kit.CreateTestProbe("event-log");
        var gate = kit.Sys.ActorOf(TransferGate.Props(settings.MaxConcurrentTransfers), "gate");
        Context = new CopyEngineContext("test-node", vaultRoot ?? "/vault", settings, Transport, gate, EventLog.Ref)
        {
            RecoverySpread = TimeSpan.FromSeconds(1),
            Started = started ?? Task.CompletedTask,
            Listing = listing,
        };
    }

    public TestScheduler Scheduler => (TestScheduler)_kit.Sys.Scheduler;

    public IActorRef Pool(PoolName pool)
    {
        if (!_pools.TryGetValue(pool, out var actor))
            _pools[pool] = actor = _kit.Sys.ActorOf(PoolSupervisor.Props(Context.AutoCopy.Pools[pool], Context), $"{pool}-{_generation}");
        return actor;
    }

    /// <summary>Stops every pool supervisor (and so every tape actor) as a crash would leave the journal.</summary>
    public void Restart()
    {
        foreach (var actor in _pools.Values)
        {
            var watcher = _kit.CreateTestProbe();
            watcher.Watch(actor);
            actor.Tell(PoisonPill.Instance);
            watcher.ExpectTerminated(actor);
        }
        _pools.Clear();
        _generation++;
    }

    /// <summary>Hands every pool off as sharding does when a pool moves (its hand-off stop message) and waits until each
    /// has stopped; the next <see cref="Pool"/> is the new owner's.</summary>
    public void HandOff()
    {
        foreach (var actor in _pools.Values)
        {
            var watcher = _kit.CreateTestProbe();
            watcher.Watch(actor);
            actor.Tell(PoolSupervisor.HandOff.Instance);
            watcher.ExpectTerminated(actor, TimeSpan.FromSeconds(10));
        }
        _pools.Clear();
        _generation++;
    }

    /// <summary>The events journaled under a persistence id, read back by a recovery of their own.</summary>
    public IReadOnlyList<object> Journal(string persistenceId)
    {
        var probe = _kit.CreateTestProbe();
        _kit.Sys.ActorOf(Props.Create(() => new JournalReader(persistenceId, probe.Ref)));
        return probe.ExpectMsg<IReadOnlyList<object>>(TimeSpan.FromSeconds(10));
    }

    private sealed class JournalReader : ReceivePersistentActor
    {
        private readonly List<object> _events = [];

        public override string PersistenceId { get; }

        /// <summary>Every event, even those a snapshot covers.</summary>
        public override Recovery Recovery => new(SnapshotSelectionCriteria.None);

        public JournalReader(string persistenceId, IActorRef probe)
        {
            PersistenceId = persistenceId;
            Recover<RecoveryCompleted>(_ =>
            {
                probe.Tell((IReadOnlyList<object>)_events.ToList());
                Context.Stop(Self);
            });
            Recover<object>(_events.Add);
        }
    }

    private int _ids;

    public TapeEventJournaled Mount(PoolName pool, string volser, MountMode mode = MountMode.Ring) =>
        Ask(new RecordMount(pool, Volser.Parse(volser), $"m-{++_ids}", mode, Scheduler.Now), pool);

    public TapeEventJournaled Dismount(PoolName pool, string volser) =>
        Ask(new RecordDismount(pool, Volser.Parse(volser), $"d-{++_ids}", Scheduler.Now), pool);

    public TapeEventJournaled Ask(ITapeCommand command, PoolName pool) =>
        Pool(pool).Ask<TapeEventJournaled>(command, _kit.Dilated(TimeSpan.FromSeconds(5))).GetAwaiter().GetResult();

    public TapeCopyState Status(PoolName pool, string volser) =>
        Pool(pool).Ask<TapeStatus>(new GetTapeStatus(pool, Volser.Parse(volser)), _kit.Dilated(TimeSpan.FromSeconds(5)))
            .GetAwaiter().GetResult().State;

    /// <summary>No transfer is running or waiting for a slot. Ask it after a tape's status: a tape whose retry fell due
    /// asks the gate for a slot before it answers, so the gate has that request before this question, and an early
    /// attempt shows here even before it reaches the transport.</summary>
    public void AssertNoTransferAsked()
    {
        var gate = Context.TransferGate.Ask<GateStatus>(new GetGateStatus(), _kit.Dilated(TimeSpan.FromSeconds(5))).GetAwaiter().GetResult();
        Xunit.Assert.All(gate.Targets, t => Xunit.Assert.Equal((t.Target, 0, 0), (t.Target, t.Running, t.Waiting)));
    }

    public EventLogEntry ExpectLog(int messageId)
    {
        var entry = EventLog.FishForMessage<EventLogEntry>(e => e.MessageId == messageId, _kit.Dilated(TimeSpan.FromSeconds(5)));
        return entry;
    }

    public static TransferOutcome Copied => new TransferOutcome.Succeeded(1024, new string('a', 64), TimeSpan.FromMilliseconds(5), TargetProof.HashedFile);
}
