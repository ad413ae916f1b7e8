using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Observability;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.CopyEngine;

/// <summary>Owns one tape's copy life: journals its EMS events, asks for a transfer slot, runs the transfer as a
/// piped task it can cancel, and keeps the retry timer as a journaled due time (R2–R9). Every fact is journaled
/// before its effect; the timer is re-armed from the journal after any restart.
/// Its handlers are plain methods matching on the message, not <c>Command&lt;T&gt;</c> registrations: one of these
/// actors starts for every tape an EMS event wakes, and building a receive actor's handler table in each constructor
/// took a tenth of the node's CPU time when thousands of idle tapes were mounted at once.</summary>
public sealed class TapeCopyActor : UntypedPersistentActor, IWithTimers
{
    /// <summary>The parent may stop this actor: it has nothing to do.</summary>
    public sealed record TapeSettled(Volser Volser) : INoSerializationVerificationNeeded;

    /// <summary>The parent's request to stop, answered by stopping or by <see cref="TapeStays"/>.</summary>
    public sealed record StopIfSettled : INoSerializationVerificationNeeded;

    public sealed record TapeStays(Volser Volser) : INoSerializationVerificationNeeded;

    /// <summary>Told to the parent after every change, so the pool can answer for its busy tapes without asking each.</summary>
    public sealed record TapeStateChanged(Volser Volser, TapeCopyState State) : INoSerializationVerificationNeeded;

    /// <summary>From the pool, whose shard moves to another node: end the running attempt in the journal (cancelled, not
    /// failed), then stop. The new owner's tape then starts the next attempt only after this one has ended, never
    /// beside it.</summary>
    public sealed record HandOver : INoSerializationVerificationNeeded;

    public const string HandedOverReason = "pool handed over to another node";

    private sealed record RetryDue : INoSerializationVerificationNeeded;

    private sealed record TransferFinished(int Attempt, TransferOutcome Outcome) : INoSerializationVerificationNeeded;

    /// <summary>Sent again while the event log has not confirmed R7's one error: a proxy drops what it cannot hold
    /// while the cluster's event log moves to another node.</summary>
    private sealed record ReportAgain : INoSerializationVerificationNeeded;

    /// <summary>The gate has not answered what this tape told it: the message may have been dropped while the gate moved.</summary>
    private sealed record GateAgain : INoSerializationVerificationNeeded;

    /// <summary>Time to tell the gate how the running transfer moves (its progress, for vtsctl and the status page).</summary>
    private sealed record ProgressDue : INoSerializationVerificationNeeded;

    private const string RetryTimer = "retry";
    private const string ReportTimer = "report-again";
    private const string GateTimer = "gate-again";
    private const string ProgressTimer = "progress";
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GateAgainEvery = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReportAgainEvery = TimeSpan.FromSeconds(30);
    private const int SnapshotEvery = 100;

    private readonly PoolSettings _pool;
    private readonly Volser _volser;
    private readonly CopyEngineContext _engine;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private TapeCopyState _state = TapeCopyState.Initial;
    private CancellationTokenSource? _transfer;
    /// <summary>True once the pool handed this tape over: it stops as soon as no attempt of its own is running.</summary>
    private bool _handingOver;
    private bool _slotRequested;
    private bool _holdsSlot;
    /// <summary>The gate that queued or granted this tape's request, watched: if it dies, the next one must hear of us.</summary>
    private IActorRef? _gate;
    /// <summary>A gate has answered the request (or the slot held) as it stands; until then it is told again.</summary>
    private bool _gateAnswered;
    /// <summary>Numbers this incarnation's requests, so that the gate knows a request told again from a new one.</summary>
    private long _request;
    private DateTimeOffset _attemptStartedAt;
    /// <summary>The part of the target's bandwidth the gate gives this tape's transfer (null: unlimited).</summary>
    private long? _share;
    /// <summary>The running transfer's pace and progress.</summary>
    private TransferMeter? _meter;

    public ITimerScheduler Timers { get; set; } = null!;

    public static string PersistenceIdFor(PoolName pool, Volser volser) => $"tape-{pool}-{volser}";

    public static Props Props(PoolSettings pool, Volser volser, CopyEngineContext engine) =>
        Akka.Actor.Props.Create(() => new TapeCopyActor(pool, volser, engine));

    public override string PersistenceId { get; }

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private TargetSettings Target => _engine.AutoCopy.Targets[_pool.Target];

    public TapeCopyActor(PoolSettings pool, Volser volser, CopyEngineContext engine)
    {
        _pool = pool;
        _volser = volser;
        _engine = engine;
        PersistenceId = PersistenceIdFor(pool.Name, volser);
    }

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: TapeCopyState s }:
                _state = s;
                break;
            case ITapeEvent e:
                _state = _state.Apply(e);
                break;
            case RecoveryCompleted:
                _state = _state.Interrupted();
                Context.Parent.Tell(new TapeStateChanged(_volser, _state));
                if (_state.UnreportedFailure is { } failed) ReportFailure(failed); // the event log dedups a repeat
                Schedule(recovering: true);
                break;
        }
    }

    /// <summary>Commands go to the current behaviour, set with Become.</summary>
    protected override void OnCommand(object message) => Ready(message);

    /// <summary>The normal behaviour: whatever the phase, commands are handled here; the phase decides.</summary>
    private void Ready(object message)
    {
        switch (message)
        {
            case RecordMount mount: OnMount(mount); break;
            case RecordDismount dismount: OnDismount(dismount); break;
            case RecordMountWithdrawn withdrawn: OnMountWithdrawn(withdrawn); break;
            case RecordMountAccepted accepted: OnMountAccepted(accepted); break;
            case RetryCopy retry: OnRetry(retry); break;
            case RequestCopy request: OnRequestCopy(request); break;
            case GetTapeStatus: ReplyStatus(); break;
            case TransferSlotQueued: GateAnswered(Sender); break;
            case TransferSlotGranted granted: GateAnswered(Sender); OnSlotGranted(granted); break;
            case Terminated t when t.ActorRef.Equals(_gate): OnGateGone(); break;
            case GateAgain: TellGate(); break;
            case TransferShare share: SetShare(share.BytesPerSecond); break;
            case ProgressDue: TellProgress(); break;
            case ReportAgain:
                if (_state.UnreportedFailure is { } unreported) ReportFailure(unreported);
                break;
            case RetryDue: Schedule(recovering: false); break;
            case TransferFinished finished: OnTransferFinished(finished); break;
            case StopIfSettled: OnStopIfSettled(); break;
            case HandOver: OnHandOver(); break;
            case EntryLogged logged:
                if (_state.UnreportedFailure is { } failed && logged.Key == FailureKey(failed))
                    Persist(new FailureReported(failed.At), e =>
                    {
                        Update(e);
                        Timers.Cancel(ReportTimer);
                    });
                break;
            case SaveSnapshotSuccess: break;
            case SaveSnapshotFailure f: _log.Warning(f.Cause, "snapshot of {0} not saved", PersistenceId); break;
            default: Unhandled(message); break;
        }
    }

    /// <summary>A mount stopped the running transfer; until the transfer says it has stopped, later EMS events
    /// wait, so that a dismount is never applied to a transfer that is still settling (R5, R6).</summary>
    private void CancellingTransfer(object message)
    {
        switch (message)
        {
            case TransferFinished finished:
                OnTransferFinished(finished);
                Stash.UnstashAll();
                Become(Ready);
                break;
            case GetTapeStatus: ReplyStatus(); break;
            case TransferShare share: SetShare(share.BytesPerSecond); break;
            case ProgressDue: TellProgress(); break;
            case HandOver: _handingOver = true; break; // the cancelled attempt is journaled, then the tape stops
            case SaveSnapshotSuccess: break;
            default: Stash.Stash(); break;
        }
    }

    private void OnHandOver()
    {
        _handingOver = true;
        if (_transfer is { } running)
        {
            running.Cancel(); // its end is journaled in OnTransferFinished, then the tape stops
            return;
        }
        Context.Stop(Self); // a slot asked for or held is given back when the gate sees this tape stop
    }

    private void ReplyStatus() => Sender.Tell(new TapeStatus(_pool.Name, _volser, _state, LastSequenceNr > 0, _meter?.Reading));

    private void SetShare(long? bytesPerSecond)
    {
        _share = bytesPerSecond;
        if (_meter is { } meter) meter.Share = bytesPerSecond;
    }

    private void TellProgress()
    {
        if (_meter is not { } meter) return;
        var reading = meter.Tick();
        _engine.TransferGate.Tell(new TransferProgress(_pool.Target, _pool.Name, _volser, reading.Done, reading.Sent, reading.Total,
            reading.BytesPerSecond, reading.Share));
    }

    private void OnMount(RecordMount mount)
    {
        if (_state.HasSeen(mount.EventId))
        {
            Sender.Tell(new TapeEventJournaled(mount.EventId, Duplicate: true));
            return;
        }
        Mount(mount.EventId, mount.Mode, mount.At);
    }

    /// <summary>R16, 648: only a mount we did not know of changes anything (R5: no copy runs while it is mounted). One
    /// taken in before the tape's last dismount, but reaching the tape after it (EMS lines are journaled concurrently, and
    /// sent again while a pool moves), is stale: journaled as a mount it would hold the tape's copy until its next use.</summary>
    private void OnMountAccepted(RecordMountAccepted accepted)
    {
        if (_state.HasSeen(accepted.EventId) || _state.Mounted is not null || _state.LastDismountAt >= accepted.At)
        {
            Sender.Tell(new TapeEventJournaled(accepted.EventId, Duplicate: true));
            return;
        }
        Mount(accepted.EventId, MountMode.Ring, accepted.At);
    }

    private void Mount(string eventId, MountMode mode, DateTimeOffset at)
    {
        Persist(new MountRecorded(eventId, mode, at), e =>
        {
            Update(e);
            Sender.Tell(new TapeEventJournaled(eventId, Duplicate: false));
            Timers.Cancel(RetryTimer);
            if (_transfer is { } running)
            {
                running.Cancel();
                Become(CancellingTransfer);
            }
        });
    }

    /// <summary>R16: the mount that was requested never happened. A copy due before the request runs now (and one that the
    /// request stopped runs again); the tape is not dismounted either, so nothing new is due.</summary>
    private void OnMountWithdrawn(RecordMountWithdrawn withdrawn)
    {
        if (_state.HasSeen(withdrawn.EventId))
        {
            Sender.Tell(new TapeEventJournaled(withdrawn.EventId, Duplicate: true));
            return;
        }
        Persist(new MountWithdrawn(withdrawn.EventId, withdrawn.Reason, withdrawn.At), e =>
        {
            Update(e);
            Sender.Tell(new TapeEventJournaled(withdrawn.EventId, Duplicate: false));
            Schedule(recovering: false);
        });
    }

    private void OnDismount(RecordDismount dismount)
    {
        if (_state.HasSeen(dismount.EventId))
        {
            Sender.Tell(new TapeEventJournaled(dismount.EventId, Duplicate: true));
            return;
        }
        var wasBackground = _state.Background;
        Persist(new DismountRecorded(dismount.EventId, _state.Mounted is not null, dismount.At), e =>
        {
            Update(e);
            Sender.Tell(new TapeEventJournaled(dismount.EventId, Duplicate: false));
            if (wasBackground && !_state.Background && _slotRequested)
            {
                // Waiting at the gate in the background lane: it asks again as the dismount copy it is now.
                _gateAnswered = false;
                TellGate();
            }
            if (!e.MountKnown)
                Report(Severity.Info, MessageIds.DismountWithoutMount,
                    "dismount without a known mount; copy made due (a missed copy is worse than an extra one)");
            Schedule(recovering: false);
        });
    }

    private void OnRetry(RetryCopy _)
    {
        if (_state.Phase is not (CopyPhase.Failed or CopyPhase.WaitingToRetry))
        {
            Sender.Tell(new RetryAnswer(false, $"nothing to retry: copy state is {_state.Phase}"));
            return;
        }
        Persist(new RetryRequested(Now), e =>
        {
            Update(e);
            Sender.Tell(new RetryAnswer(true, "fresh series of attempts started"));
            Report(Severity.Info, MessageIds.CopyRetryRequested, "operator started a fresh series of attempts");
            Timers.Cancel(RetryTimer);
            Schedule(recovering: false);
        });
    }

    private void OnRequestCopy(RequestCopy request)
    {
        if (_state.Mounted is not null)
        {
            Sender.Tell(new CopyRequestAnswer(false, "mounted: its dismount makes a copy due if it was written"));
            return;
        }
        if (_state.Phase is not (CopyPhase.Idle or CopyPhase.Failed))
        {
            Sender.Tell(new CopyRequestAnswer(false, $"a copy is owed already ({_state.Phase})"));
            return;
        }
        Persist(new CopyRequested(request.Reason, Now), e =>
        {
            Update(e);
            Sender.Tell(new CopyRequestAnswer(true, "copy made due"));
            Report(Severity.Info, MessageIds.CopyRequestedByReconcile, $"copy made due by a reconcile: {e.Reason}");
            Timers.Cancel(RetryTimer);
            Schedule(recovering: false);
        });
    }

    private void OnSlotGranted(TransferSlotGranted granted)
    {
        SetShare(granted.Share);
        if (_holdsSlot) return; // the gate confirms the slot this tape holds (told again, or after a hand-over)
        if (!_slotRequested)
        {
            // A grant nobody waits for (a request told twice, answered twice): given back at once.
            Sender.Tell(new ReleaseTransferSlot(_pool.Target));
            return;
        }
        _slotRequested = false;
        _holdsSlot = true;
        if (_transfer is not null || !_state.MayStartAttempt(Now))
        {
            ReleaseSlot();
            Schedule(recovering: false);
            return;
        }
        Persist(new AttemptStarted(_state.Attempts + 1, Now), e =>
        {
            Update(e);
            StartTransfer(e.Attempt);
        });
    }

    private void StartTransfer(int attempt)
    {
        _log.Debug("tape {0}/{1}: attempt {2} starts", _pool.Name, _volser, attempt);
        _attemptStartedAt = DateTimeOffset.UtcNow;
        var cancellation = new CancellationTokenSource();
        _transfer = cancellation;
        _meter = new TransferMeter(_share);
        Timers.StartPeriodicTimer(ProgressTimer, new ProgressDue(), ProgressEvery);
        var request = new TransferRequest(
            Path.Combine(_engine.VaultRoot, _pool.Name.Value, _volser.Value), Target, _pool.TargetPool, _volser, _meter);
        _engine.Transport.CopyAsync(request, cancellation.Token).PipeTo(Self,
            success: outcome => new TransferFinished(attempt, outcome),
            failure: ex => new TransferFinished(attempt, new TransferOutcome.Failed($"transfer failed: {ex.Message}")));
    }

    private void OnTransferFinished(TransferFinished finished)
    {
        if (_state.Phase != CopyPhase.Copying || finished.Attempt != _state.Attempts) return;
        _transfer?.Dispose();
        _transfer = null;
        Timers.Cancel(ProgressTimer);
        TellProgress(); // the last bytes count in the target's throughput; the gate hears it before the release
        _meter = null;
        ReleaseSlot();

        var outcome = finished.Outcome switch
        {
            TransferOutcome.Succeeded => finished.Outcome,
            _ when _handingOver => new TransferOutcome.Cancelled(HandedOverReason),
            TransferOutcome.Cancelled => finished.Outcome,
            _ when _state.Mounted is not null => new TransferOutcome.Cancelled("tape mounted during transfer"),
            _ => finished.Outcome,
        };
        var attemptSeconds = (DateTimeOffset.UtcNow - _attemptStartedAt).TotalSeconds;
        PersistAll(_state.DecideTransferOutcome(outcome, _engine.AutoCopy.Retry, Now), e =>
        {
            Update(e);
            Count(e, attemptSeconds);
            switch (e)
            {
                case CopyCompleted c:
                    Report(Severity.Info, MessageIds.CopyCompleted,
                        // What was resumed comes before the hash: event.log cuts a line at 255 characters, from its end.
                        $"copied to {_pool.Target}:{_pool.TargetPool}/{_volser}, {c.Size} bytes" +
                        (outcome is TransferOutcome.Succeeded { Resumed: > 0 } resumed ? $" ({resumed.Resumed / 1048576.0:F1} MiB resumed)" : "") +
                        $", sha256 {c.Sha256}, attempt {c.Attempt}" +
                        (outcome is TransferOutcome.Succeeded { Proof: TargetProof.ReadBack } read
                            ? $"; proven by reading it back ({read.Verification.TotalSeconds:F1} s)"
                            : ""));
                    if (outcome is TransferOutcome.Succeeded proven)
                    {
                        AutoCopyMetrics.Verification.WithLabels(_pool.Target.Value, ProofName(proven.Proof)).Observe(proven.Verification.TotalSeconds);
                        AutoCopyMetrics.BytesResumed.WithLabels(_pool.Target.Value).Inc(proven.Resumed);
                    }
                    break;
                case AttemptCancelled when _handingOver:
                    break; // not news: the new owner carries on with the copy
                case AttemptCancelled c:
                    Report(Severity.Info, MessageIds.CopyCancelledByMount, $"attempt {c.Attempt} cancelled: {c.Reason}; copy stays due");
                    break;
                case AttemptFailed f when outcome is TransferOutcome.Failed { Kind: FailureKind.TargetNotTrusted }:
                    Report(Severity.Critical, MessageIds.TargetNotTrusted,
                        $"target {_pool.Target} not trusted, attempt {f.Attempt} refused: {f.Cause}");
                    break;
                case AttemptFailed f when outcome is TransferOutcome.Failed { Kind: FailureKind.NotARegularFile }:
                    Report(Severity.Critical, MessageIds.NotARegularFile, $"attempt {f.Attempt} refused: {f.Cause}");
                    break;
                case AttemptFailed f when f.NextAttemptAt is { } next:
                    var (id, text) = AttemptFailedEntry.For(outcome is TransferOutcome.Failed { Kind: var kind } ? kind : null,
                        f.Attempt, _engine.AutoCopy.Retry.MaxAttempts, _pool.Target.ToString(), f.Cause, next);
                    Report(Severity.Warning, id, text);
                    break;
                case CopyFailed f:
                    ReportFailure(f);
                    break;
            }
            if (_handingOver)
                Context.Stop(Self);
            else if (e is CopyCompleted or AttemptCancelled or CopyFailed || e is AttemptFailed { NextAttemptAt: not null })
                Schedule(recovering: false);
        });
    }

    private static string ProofName(TargetProof proof) => proof switch
    {
        TargetProof.HashedWhileWriting => "hashed-while-writing",
        TargetProof.HashedFile => "hashed-file",
        _ => "read-back",
    };

    private void Count(ITapeEvent e, double attemptSeconds)
    {
        var (pool, target) = (_pool.Name.Value, _pool.Target.Value);
        switch (e)
        {
            case CopyCompleted c:
                AutoCopyMetrics.CopiesCompleted.WithLabels(pool, target).Inc();
                AutoCopyMetrics.BytesSent.WithLabels(target).Inc(c.Size);
                CopyThroughput.Record(c.Size);
                AutoCopyMetrics.AttemptDuration.WithLabels(target, "copied").Observe(attemptSeconds);
                break;
            case AttemptFailed:
                AutoCopyMetrics.AttemptsFailed.WithLabels(pool, target).Inc();
                AutoCopyMetrics.AttemptDuration.WithLabels(target, "failed").Observe(attemptSeconds);
                break;
            case AttemptCancelled:
                AutoCopyMetrics.AttemptDuration.WithLabels(target, "cancelled").Observe(attemptSeconds);
                break;
            case CopyFailed:
                AutoCopyMetrics.CopiesFailed.WithLabels(pool, target).Inc();
                break;
        }
    }

    private void OnStopIfSettled()
    {
        if (_state.IsSettled && _transfer is null && !_slotRequested && !_holdsSlot)
            Context.Stop(Self);
        else
            Sender.Tell(new TapeStays(_volser));
    }

    /// <summary>Decides what the tape waits for next, from its state alone.</summary>
    private void Schedule(bool recovering)
    {
        if (_transfer is not null) return;
        if (_state.Mounted is not null) return; // R5: the copy waits for the dismount.
        switch (_state.Phase)
        {
            case CopyPhase.Due:
                Timers.Cancel(RetryTimer);
                RequestSlot();
                break;
            case CopyPhase.WaitingToRetry when _state.NextAttemptAt is { } next:
                var wait = next - Now;
                if (wait <= TimeSpan.Zero && !recovering)
                {
                    RequestSlot();
                }
                else
                {
                    // Overdue retries found at recovery are spread out instead of all firing at once (R8).
                    if (wait <= TimeSpan.Zero)
                        wait = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * _engine.RecoverySpread.TotalMilliseconds);
                    Timers.StartSingleTimer(RetryTimer, new RetryDue(), wait);
                }
                break;
            case CopyPhase.Idle:
                Context.Parent.Tell(new TapeSettled(_volser));
                break;
        }
    }

    private void RequestSlot()
    {
        if (_slotRequested || _holdsSlot) return;
        _slotRequested = true;
        _request++;
        _gateAnswered = false;
        TellGate();
    }

    /// <summary>Tells the gate what this tape waits for or holds, and again every few seconds until a gate answers: the
    /// gate is reached through a proxy, which drops what it is sent while the gate moves to another node.</summary>
    private void TellGate()
    {
        if (_gateAnswered || !(_slotRequested || _holdsSlot)) return;
        if (_holdsSlot) _engine.TransferGate.Tell(new HoldingTransferSlot(_pool.Target, _pool.Name, _volser));
        else _engine.TransferGate.Tell(new RequestTransferSlot(_pool.Target, _pool.Name, _volser, _state.DueSince ?? Now, _request, _state.Background));
        Timers.StartSingleTimer(GateTimer, new GateAgain(), GateAgainEvery);
    }

    private void GateAnswered(IActorRef gate)
    {
        _gateAnswered = true;
        Timers.Cancel(GateTimer);
        if (gate.Equals(_gate)) return;
        if (_gate is { } previous) Context.Unwatch(previous);
        _gate = gate;
        Context.Watch(gate);
    }

    /// <summary>The gate moved to another node (its node left or died): the new one knows nothing of this tape.</summary>
    private void OnGateGone()
    {
        _log.Debug("tape {0}/{1}: the transfer gate moved; telling the new one (slot requested {2}, held {3})", _pool.Name, _volser,
            _slotRequested, _holdsSlot);
        _gate = null;
        _gateAnswered = false;
        TellGate();
    }

    private void ReleaseSlot()
    {
        if (!_holdsSlot) return;
        _holdsSlot = false;
        _share = null;
        Timers.Cancel(GateTimer);
        _engine.TransferGate.Tell(new ReleaseTransferSlot(_pool.Target));
    }

    private void Update(ITapeEvent e)
    {
        _state = _state.Apply(e);
        Context.Parent.Tell(new TapeStateChanged(_volser, _state));
        if (LastSequenceNr % SnapshotEvery == 0) SaveSnapshot(_state);
    }

    private void Report(Severity severity, int messageId, string text, string? key = null) =>
        _engine.EventLog.Tell(new EventLogEntry(Now, severity, messageId, _engine.NodeName, _pool.Name.Value, _volser.Value, text, key));

    /// <summary>R7's one error entry: keyed by the failure, so a report repeated after a crash is logged once.</summary>
    private void ReportFailure(CopyFailed f)
    {
        Timers.StartSingleTimer(ReportTimer, new ReportAgain(), ReportAgainEvery);
        Report(Severity.Error, MessageIds.CopyFailed,
            $"copy to {_pool.Target}:{_pool.TargetPool} failed after {f.Attempts} attempts; last cause: {f.Cause}", FailureKey(f));
    }

    private string FailureKey(CopyFailed f) => $"{PersistenceId}/failed/{f.At.UtcTicks}";

    protected override void PostStop()
    {
        _log.Debug("tape {0}/{1} stopped ({2}, transfer {3}, slot requested {4}, held {5})", _pool.Name, _volser, _state.Phase,
            _transfer is null ? "none" : "cancelled", _slotRequested, _holdsSlot);
        _transfer?.Cancel();
        base.PostStop();
    }
}

/// <summary>The warning a failed attempt with a retry to come logs (R7): its id and text.</summary>
public static class AttemptFailedEntry
{
    /// <summary>An R11 cause has an id of its own and leads the text: its how-to-fix must survive the event-log line's
    /// 255 characters (docs/operations.md, Event log), and what is cut when space runs out is the attempt count and the next time, which
    /// vtsctl shows in full. Any other cause follows the attempt, as R7's entries always read.</summary>
    public static (int MessageId, string Text) For(FailureKind? kind, int attempt, int maxAttempts, string target, string cause, DateTimeOffset next) =>
        kind is { } k && MessageIds.ForSecureVts(k) is { } secureVts
            ? (secureVts, $"{cause}; attempt {attempt} of {maxAttempts} to {target}, next at {next:u}")
            : (MessageIds.AttemptFailed, $"attempt {attempt} of {maxAttempts} to {target} failed: {cause}; next at {next:u}");
}
