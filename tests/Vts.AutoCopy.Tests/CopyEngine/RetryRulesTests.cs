using Akka.Actor;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Transport;
using Xunit;
using static Vts.AutoCopy.Tests.CopyEngine.EngineHarness;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>R7 and R8: failed attempts are retried on a journaled timer, twelve in all, then reported once.</summary>
public sealed class RetryRulesTests() : TestKit(TestConfig)
{
    private TimeSpan Wait => Dilated(TimeSpan.FromSeconds(5));

    [Fact]
    public void R7_Twelve_attempts_five_minutes_apart_then_exactly_one_event_log_error()
    {
        var engine = new Engine(this, Settings());
        engine.Dismount(Pool1, "A00001");

        for (var attempt = 1; attempt <= 12; attempt++)
        {
            var call = engine.Transport.Next(Wait);
            call.Outcome.SetResult(new TransferOutcome.Failed($"connection refused #{attempt}"));
            if (attempt < 12)
            {
                var warning = engine.ExpectLog(MessageIds.AttemptFailed);
                Assert.Contains($"attempt {attempt} of 12", warning.Text);
                // Nothing happens before the interval has passed. The status is asked through the tape's own mailbox,
                // behind any retry the advance let fall due, and the gate after it: an early retry would be a slot asked.
                engine.Scheduler.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
                var waiting = engine.Status(Pool1, "A00001");
                Assert.Equal((CopyPhase.WaitingToRetry, attempt), (waiting.Phase, waiting.Attempts));
                engine.AssertNoTransferAsked();
                Assert.Equal(attempt, engine.Transport.Count);
                engine.Scheduler.Advance(TimeSpan.FromSeconds(1));
            }
        }

        var error = engine.ExpectLog(MessageIds.CopyFailed);
        Assert.Equal(Severity.Error, error.Severity);
        Assert.Equal(("POOL1", "A00001"), (error.Pool, error.Volser));
        Assert.Contains("dr", error.Text);
        Assert.Contains("12 attempts", error.Text);
        Assert.Contains("connection refused #12", error.Text);
        engine.EventLog.Reply(new EntryLogged(error.Key!)); // as the cluster's event log answers a keyed entry

        engine.Scheduler.Advance(TimeSpan.FromHours(2));
        // Asked behind whatever the two hours let fall due: a thirteenth attempt or a second error would be seen by now.
        var state = engine.Status(Pool1, "A00001");
        Assert.Equal((CopyPhase.Failed, 12), (state.Phase, state.Attempts));
        engine.AssertNoTransferAsked();
        Assert.Equal(12, engine.Transport.Count);
        Assert.False(engine.EventLog.HasMessages, "a second entry after the last attempt");
    }

    [Fact]
    public void R7_A_new_dismount_or_an_operator_retry_starts_a_fresh_series()
    {
        var engine = new Engine(this, Settings(maxAttempts: 2));
        engine.Dismount(Pool1, "B00002");
        engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("down"));
        engine.ExpectLog(MessageIds.AttemptFailed);
        engine.Scheduler.Advance(TimeSpan.FromMinutes(5));
        engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("down"));
        engine.ExpectLog(MessageIds.CopyFailed);

        var answer = engine.Pool(Pool1).Ask<RetryAnswer>(new RetryCopy(Pool1, Volser.Parse("B00002")), Wait).GetAwaiter().GetResult();
        Assert.True(answer.Started);
        var call = engine.Transport.Next(Wait);
        AwaitAssert(() => Assert.Equal(1, engine.Status(Pool1, "B00002").Attempts), Wait);
        call.Outcome.SetResult(new TransferOutcome.Failed("down"));
        engine.ExpectLog(MessageIds.AttemptFailed);
        engine.Scheduler.Advance(TimeSpan.FromMinutes(5));
        engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("down"));
        engine.ExpectLog(MessageIds.CopyFailed);

        engine.Mount(Pool1, "B00002");
        engine.Dismount(Pool1, "B00002");
        engine.Transport.Next(Wait).Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
    }

    [Fact]
    public void R7_Retry_of_a_tape_with_nothing_failed_is_refused()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "C00003", MountMode.NoRing);
        var answer = engine.Pool(Pool1).Ask<RetryAnswer>(new RetryCopy(Pool1, Volser.Parse("C00003")), Wait).GetAwaiter().GetResult();
        Assert.False(answer.Started);
    }

    [Fact]
    public void R8_A_restart_rearms_the_retry_timer_from_its_journaled_due_time()
    {
        var engine = new Engine(this, Settings());
        engine.Dismount(Pool1, "D00004");
        engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("target down"));
        engine.ExpectLog(MessageIds.AttemptFailed);
        var dueAt = engine.Status(Pool1, "D00004").NextAttemptAt;

        engine.Restart();
        engine.Pool(Pool1); // the supervisor wakes its busy tapes from its journal, with no EMS event
        AwaitAssert(() => Assert.Equal(dueAt, engine.Status(Pool1, "D00004").NextAttemptAt), Wait);
        engine.Scheduler.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(CopyPhase.WaitingToRetry, engine.Status(Pool1, "D00004").Phase);
        engine.AssertNoTransferAsked(); // not a minute early
        Assert.Equal(1, engine.Transport.Count);
        engine.Scheduler.Advance(TimeSpan.FromMinutes(1));

        var second = engine.Transport.Next(Wait);
        AwaitAssert(() => Assert.Equal(2, engine.Status(Pool1, "D00004").Attempts), Wait);
        second.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
    }

    [Fact]
    public void R8_Overdue_retries_found_at_restart_run_soon_spread_out()
    {
        var engine = new Engine(this, Settings(slots: 10));
        foreach (var volser in new[] { "E00001", "E00002", "E00003" })
        {
            engine.Dismount(Pool1, volser);
            engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("target down"));
        }
        engine.Restart();
        engine.Scheduler.Advance(TimeSpan.FromHours(1)); // the node was down long past every due time
        engine.Pool(Pool1);
        // A tape answers only once recovered, and it arms its timer on recovery.
        foreach (var volser in new[] { "E00001", "E00002", "E00003" })
            Assert.Equal(CopyPhase.WaitingToRetry, engine.Status(Pool1, volser).Phase);
        engine.AssertNoTransferAsked(); // not fired in the same instant as recovery
        Assert.Equal(3, engine.Transport.Count);

        engine.Scheduler.Advance(TimeSpan.FromSeconds(1)); // the recovery spread configured for the test
        for (var i = 0; i < 3; i++) engine.Transport.Next(Wait).Outcome.SetResult(Engine.Copied);
        AwaitAssert(() => Assert.Equal(6, engine.Transport.Count), Wait);
    }

    [Fact]
    public void R8_After_a_restart_busy_tapes_resume_only_once_the_node_takes_EMS_events()
    {
        var started = new TaskCompletionSource();
        var engine = new Engine(this, Settings(), started.Task);
        engine.Dismount(Pool1, "F00016");
        engine.Transport.Next(Wait);
        engine.Restart();

        // The pool recovers and answers, but its busy tape waits: thousands of tape recoveries must not delay the
        // recoveries of the pools still starting, nor so the EMS port.
        Assert.Empty(engine.Pool(Pool1).Ask<PoolSummary>(new GetPoolSummary(Pool1), Wait).GetAwaiter().GetResult().Busy);
        Assert.Throws<TimeoutException>(() => engine.Transport.Next(Dilated(TimeSpan.FromMilliseconds(300))));

        started.SetResult();
        Assert.Equal("F00016", engine.Transport.Next(Wait).Request.Volser.Value);
    }

    [Fact]
    public void R8_A_copy_due_when_the_node_stopped_resumes_after_restart()
    {
        var engine = new Engine(this, Settings());
        engine.Dismount(Pool1, "F00006");
        var interrupted = engine.Transport.Next(Wait); // the node "dies" mid-transfer
        engine.Restart();
        Assert.True(interrupted.Cancellation.IsCancellationRequested);

        engine.Pool(Pool1);
        var resumed = engine.Transport.Next(Wait);
        Assert.Equal("F00006", resumed.Request.Volser.Value);
        // The interrupted attempt is not counted: this is attempt 1 again.
        AwaitAssert(() => Assert.Equal(1, engine.Status(Pool1, "F00006").Attempts), Wait);
        resumed.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
    }

    [Fact]
    public void A_pool_handed_to_another_node_ends_its_running_attempt_as_cancelled_before_the_new_owner_starts_the_next()
    {
        var engine = new Engine(this, Settings());
        engine.Dismount(Pool1, "H00001");
        var first = engine.Transport.Next(Wait);

        engine.HandOff(); // returns once the old pool and its tape have stopped

        Assert.True(first.Cancellation.IsCancellationRequested);
        var journal = engine.Journal(TapeCopyActor.PersistenceIdFor(Pool1, Volser.Parse("H00001")));
        Assert.Equal([typeof(DismountRecorded), typeof(AttemptStarted), typeof(AttemptCancelled)], journal.Select(e => e.GetType()));
        Assert.Equal(TapeCopyActor.HandedOverReason, ((AttemptCancelled)journal[^1]).Reason);

        engine.Pool(Pool1);
        var resumed = engine.Transport.Next(Wait);
        Assert.Equal("H00001", resumed.Request.Volser.Value);
        // Not a failed attempt: this is attempt 1 again.
        AwaitAssert(() => Assert.Equal(1, engine.Status(Pool1, "H00001").Attempts), Wait);
        resumed.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
    }

    [Fact]
    public void A_pool_handed_off_with_no_tape_running_stops_at_once_and_its_due_copies_move_with_it()
    {
        var engine = new Engine(this, Settings(slots: 1));
        engine.Dismount(Pool1, "H00002");
        var holder = engine.Transport.Next(Wait);
        engine.Dismount(Pool2, "H00003"); // waits for the only slot
        AwaitAssert(() => Assert.Equal(CopyPhase.Due, engine.Status(Pool2, "H00003").Phase), Wait);

        engine.HandOff();
        Assert.True(holder.Cancellation.IsCancellationRequested);

        engine.Pool(Pool1);
        engine.Pool(Pool2);
        // Both still due on the new owner, one slot between them: one after the other. (The slot the cancelled transfer
        // gave back may have reached H00003 on the old owner just before its own hand-off: that call ended cancelled.)
        ScriptedTransport.Call Running()
        {
            while (true)
                if (engine.Transport.Next(Wait) is { Outcome.Task.IsCompleted: false } call) return call;
        }
        var first = Running();
        first.Outcome.SetResult(Engine.Copied);
        var second = Running();
        Assert.Equal(["H00002", "H00003"], new[] { first, second }.Select(c => c.Request.Volser.Value).Order());
    }

    [Fact]
    public void R7_The_final_error_is_reported_again_after_a_crash_until_the_event_log_confirms_it()
    {
        var engine = new Engine(this, Settings(maxAttempts: 1));
        engine.Dismount(Pool1, "G00001");
        engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("target gone"));
        var first = engine.ExpectLog(MessageIds.CopyFailed);
        Assert.NotNull(first.Key);

        // The node dies before the event log has said "logged": the report is repeated, under the same key.
        engine.Restart();
        engine.Pool(Pool1);
        var again = engine.ExpectLog(MessageIds.CopyFailed);
        Assert.Equal(first.Key, again.Key);
        engine.EventLog.Reply(new EntryLogged(again.Key!));
        AwaitAssert(() => Assert.Null(engine.Status(Pool1, "G00001").UnreportedFailure), Wait);

        // Confirmed: no further restart repeats it.
        engine.Restart();
        // The status is answered after the tape's recovery, where an unconfirmed report would be repeated.
        Assert.Equal(CopyPhase.Failed, engine.Status(Pool1, "G00001").Phase);
        Assert.False(engine.EventLog.HasMessages, "the confirmed error was reported again");
    }

    [Fact]
    public void R7_The_final_error_is_sent_again_until_the_event_log_confirms_it_as_when_it_was_moving_to_another_node()
    {
        var engine = new Engine(this, Settings(maxAttempts: 1));
        engine.Dismount(Pool1, "G00002");
        engine.Transport.Next(Wait).Outcome.SetResult(new TransferOutcome.Failed("target gone"));
        var first = engine.ExpectLog(MessageIds.CopyFailed);

        engine.Scheduler.Advance(TimeSpan.FromSeconds(30));
        var again = engine.ExpectLog(MessageIds.CopyFailed);
        Assert.Equal(first.Key, again.Key);
        engine.EventLog.Reply(new EntryLogged(again.Key!));
        AwaitAssert(() => Assert.Null(engine.Status(Pool1, "G00002").UnreportedFailure), Wait);
    }
}
