using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Observability;

namespace Vts.AutoCopy.Reconcile;

/// <summary>Runs one pool's reconciles, the operator's and the periodic audit's, one at a time, a child of the pool's
/// supervisor (so it moves with the pool). Each slice checked is journaled with what it found before the next starts:
/// a reconcile survives a restart or a failover and goes on after the last volser checked, on whichever node then owns
/// the pool. Cancelling ends it; the copies it made due stay due.</summary>
public sealed class PoolReconcileActor : ReceivePersistentActor
{
    /// <summary>Sent by the pool supervisor's audit timer.</summary>
    public sealed record AuditDue : INoSerializationVerificationNeeded;

    /// <summary>To the parent whenever the running or last reconcile changes: what the pool's summary shows.</summary>
    public sealed record ReconcileChanged(ReconcileRun? Latest, ReconcileRun? LastAudit) : INoSerializationVerificationNeeded;

    private sealed record Resume : INoSerializationVerificationNeeded;

    private sealed record Listed(string Id, ReconcileListing Listing) : INoSerializationVerificationNeeded;

    private sealed record SliceChecked(string Id, IReadOnlyList<ReconcileEntry> Slice, ReconcileFindings Findings)
        : INoSerializationVerificationNeeded;

    private sealed record RunFailed(string Id, string Cause) : INoSerializationVerificationNeeded;

    /// <summary>Volsers per journaled slice: sizes are compared in memory, so a slice is its copy requests' journal
    /// writes; a content check reads every tape, so its slices are short enough to lose little at a restart (and one
    /// hashing process at the target per slice).</summary>
    private const int SizeSlice = 500;
    private const int ContentSlice = 64;
    private const long ContentSliceBytes = 1L << 30;

    /// <summary>A slice's copy requests come back to this pool: answered within this, or left for the next reconcile.</summary>
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private readonly PoolSettings _pool;
    private readonly CopyEngineContext _engine;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private ReconcileRun? _current;
    private ReconcileRun? _last;
    private ReconcileRun? _lastAudit;

    // The running reconcile's work, not journaled: rebuilt from a fresh listing when it resumes.
    private CancellationTokenSource? _cancel;
    private IReadOnlyList<ReconcileEntry> _toCheck = [];
    private int _next;
    private ReconcileListing? _listing;

    public static string PersistenceIdFor(Domain.PoolName pool) => $"reconcile-{pool}";

    public static Props Props(PoolSettings pool, CopyEngineContext engine) =>
        Akka.Actor.Props.Create(() => new PoolReconcileActor(pool, engine));

    public override string PersistenceId { get; }

    public PoolReconcileActor(PoolSettings pool, CopyEngineContext engine)
    {
        _pool = pool;
        _engine = engine;
        PersistenceId = PersistenceIdFor(pool.Name);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not ReconcileSnapshot s) return;
            (_last, _lastAudit) = (s.Last, s.LastAudit);
        });
        Recover<ReconcileStarted>(e => _current = ReconcileRun.From(e));
        Recover<ReconcileChecked>(e => _current = _current?.Id == e.Id ? _current.With(e) : _current);
        Recover<ReconcileEnded>(e =>
        {
            if (_current?.Id == e.Id) Remember(_current.With(e));
            _current = null;
        });
        Recover<RecoveryCompleted>(_ =>
        {
            Changed();
            if (_current is null) return;
            _log.Info("pool {0}: resuming reconcile {1} after {2} of {3} tapes checked", _pool.Name, _current.Id, _current.Checked, _current.Total);
            _engine.Started.PipeTo(Self, success: () => new Resume(), failure: _ => new Resume());
        });

        Command<StartReconcile>(start => Start(ReconcileTrigger.Operator, start.DryRun, start.VerifyContent, Sender));
        Command<AuditDue>(_ =>
        {
            if (_current is null) Start(ReconcileTrigger.Audit, dryRun: false, _engine.AutoCopy.AuditVerifiesContent, ActorRefs.Nobody);
        });
        Command<GetReconcile>(_ => Sender.Tell(Answer(true, _current is null ? "" : Progress(_current), _current ?? _last)));
        Command<CancelReconcile>(_ => Cancel(Sender));
        Command<Resume>(_ =>
        {
            if (_current is not null && _cancel is null) Begin();
        });
        Command<Listed>(listed =>
        {
            if (listed.Id != _current?.Id) return;
            var through = _current.Through;
            _listing = listed.Listing;
            _toCheck = through is null
                ? listed.Listing.Entries
                : listed.Listing.Entries.Where(e => string.CompareOrdinal(e.Volser, through) > 0).ToList();
            _next = 0;
            CheckNext();
        });
        Command<SliceChecked>(done =>
        {
            if (done.Id != _current?.Id || _listing is null) return;
            var checkedSoFar = _listing.Entries.Count - _toCheck.Count + _next + done.Slice.Count;
            Persist(new ReconcileChecked(done.Id, done.Slice[^1].Volser, checkedSoFar, _listing.Entries.Count, _listing.SourceTapes,
                _listing.TargetTapes, done.Findings), e =>
            {
                if (_current?.Id != e.Id) return; // cancelled meanwhile
                _current = _current.With(e);
                _next += done.Slice.Count;
                Changed();
                CheckNext();
            });
        });
        Command<RunFailed>(failed =>
        {
            if (failed.Id == _current?.Id) End(ReconcileOutcome.Failed, failed.Cause);
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "pool {0}: reconcile snapshot not saved", _pool.Name));
    }

    protected override void PostStop()
    {
        // A hand-over or a stop: the journal says how far it got, and the pool's next owner goes on from there.
        _cancel?.Cancel();
        base.PostStop();
    }

    private void Start(ReconcileTrigger trigger, bool dryRun, bool verifyContent, IActorRef replyTo)
    {
        if (_current is { } running)
        {
            replyTo.Tell(Answer(false, $"a reconcile of pool {_pool.Name} is running already ({Progress(running)}); " +
                                       "--status shows it, --cancel ends it", running));
            return;
        }
        if (_engine.Listing is null)
        {
            replyTo.Tell(Answer(false, "this node cannot list targets", _last));
            return;
        }
        var id = $"{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        Persist(new ReconcileStarted(id, trigger, dryRun, verifyContent, DateTimeOffset.UtcNow), e =>
        {
            _current = ReconcileRun.From(e);
            _log.Info("pool {0}: reconcile {1} started by the {2}{3}{4}", _pool.Name, e.Id, e.Trigger, e.DryRun ? ", dry run" : "",
                e.VerifyContent ? ", content verified" : "");
            Changed();
            replyTo.Tell(Answer(true, $"reconcile of pool {_pool.Name} started", _current));
            Begin();
        });
    }

    private void Begin()
    {
        var run = _current!;
        if (_engine.Listing is null)
        {
            End(ReconcileOutcome.Failed, "this node cannot list targets");
            return;
        }
        _cancel = new CancellationTokenSource();
        _listing = null;
        var target = _engine.AutoCopy.Targets[_pool.Target];
        PoolReconciler.List(_engine.VaultRoot, _pool, target, _engine.Listing!, _cancel.Token)
            .PipeTo(Self, success: listing => new Listed(run.Id, listing),
                failure: e => new RunFailed(run.Id, $"cannot list {target.Name}:{_pool.TargetPool}: {e.Message}"));
    }

    private void CheckNext()
    {
        var run = _current!;
        if (_next >= _toCheck.Count)
        {
            End(ReconcileOutcome.Finished, null);
            return;
        }
        var slice = run.VerifyContent ? ContentSliceAt(_next) : _toCheck.Skip(_next).Take(SizeSlice).ToList();
        var target = _engine.AutoCopy.Targets[_pool.Target];
        PoolReconciler.Check(_engine.VaultRoot, _pool, target, _engine.Listing!, slice, run.DryRun, run.VerifyContent, Context.Parent,
                AskTimeout, _cancel!.Token)
            .PipeTo(Self, success: findings => new SliceChecked(run.Id, slice, findings),
                failure: e => new RunFailed(run.Id, $"checking {slice[0].Volser}–{slice[^1].Volser} failed: {e.Message}"));
    }

    /// <summary>Up to <see cref="ContentSlice"/> tapes and about <see cref="ContentSliceBytes"/> to hash, one tape at least.</summary>
    private List<ReconcileEntry> ContentSliceAt(int from)
    {
        var slice = new List<ReconcileEntry>();
        long bytes = 0;
        for (var i = from; i < _toCheck.Count && slice.Count < ContentSlice && (slice.Count == 0 || bytes < ContentSliceBytes); i++)
        {
            slice.Add(_toCheck[i]);
            bytes += _toCheck[i].Here ?? 0;
        }
        return slice;
    }

    private void Cancel(IActorRef replyTo)
    {
        if (_current is not { } running)
        {
            replyTo.Tell(Answer(false, $"no reconcile of pool {_pool.Name} is running", _last));
            return;
        }
        End(ReconcileOutcome.Cancelled, $"cancelled after {running.Checked} of {running.Total} tapes checked; " +
                                        $"the {running.Made} copies it made due stay due", replyTo);
    }

    private void End(ReconcileOutcome outcome, string? detail, IActorRef? replyTo = null)
    {
        _cancel?.Cancel();
        _cancel = null;
        Persist(new ReconcileEnded(_current!.Id, outcome, detail, DateTimeOffset.UtcNow), e =>
        {
            var ended = _current!.With(e);
            _current = null;
            Remember(ended);
            SaveSnapshot(new ReconcileSnapshot(_last, _lastAudit));
            Changed();
            Report(ended);
            replyTo?.Tell(Answer(true, $"reconcile of pool {_pool.Name} {detail}", ended));
        });
    }

    private void Remember(ReconcileRun ended)
    {
        _last = ended;
        if (ended.Trigger == ReconcileTrigger.Audit) _lastAudit = ended;
    }

    /// <summary>In the event log and the metrics: an audit's drift is a warning; an operator's reconcile that ends is
    /// news to whoever started it and may have stopped watching.</summary>
    private void Report(ReconcileRun run)
    {
        var against = $"{_pool.Target}:{_pool.TargetPool}";
        var found = $"{run.MissingCount} missing there, {run.SizeDiffersCount} of another size, " +
                    (run.VerifyContent ? $"{run.ContentDiffersCount} of other content, " : "") +
                    $"{run.OnlyAtTargetCount} only there (kept); {run.Made} copies made due";
        if (run.Outcome == ReconcileOutcome.Failed)
        {
            Tell(Severity.Warning, MessageIds.AuditFailed,
                $"{(run.Trigger == ReconcileTrigger.Audit ? "audit" : "reconcile")} of pool {_pool.Name} against {against} failed: {run.Detail}");
            return;
        }
        if (run.Trigger == ReconcileTrigger.Audit)
        {
            AutoCopyMetrics.AuditDrift.WithLabels(_pool.Name.Value).Set(run.Drift);
            AutoCopyMetrics.AuditLast.WithLabels(_pool.Name.Value).Set((run.EndedAt ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds() / 1000.0);
            if (run.Drift > 0) Tell(Severity.Warning, MessageIds.AuditFoundDrift, $"audit of pool {_pool.Name} against {against}: {found}");
            return;
        }
        Tell(Severity.Info, MessageIds.ReconcileEnded, run.Outcome == ReconcileOutcome.Cancelled
            ? $"reconcile of pool {_pool.Name} against {against} {run.Detail}; found so far: {found}"
            : $"reconcile of pool {_pool.Name} against {against}{(run.DryRun ? " (dry run)" : "")} finished: {run.Checked} tapes checked, {found}");
    }

    private void Tell(Severity severity, int messageId, string text) =>
        _engine.EventLog.Tell(new EventLogEntry(DateTimeOffset.UtcNow, severity, messageId, _engine.NodeName, _pool.Name.Value, null, text));

    private void Changed() => Context.Parent.Tell(new ReconcileChanged((_current ?? _last)?.Brief(), _lastAudit?.Brief()));

    private ReconcileAnswer Answer(bool done, string detail, ReconcileRun? run) => new(_pool.Name, done, detail, run);

    private static string Progress(ReconcileRun run) => $"started {run.StartedAt:u} by the {run.Trigger.ToString().ToLowerInvariant()}, " +
                                                        $"{run.Checked} of {(run.Total == 0 ? "?" : run.Total)} tapes checked";
}
