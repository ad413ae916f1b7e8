using Akka.Actor;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Transport;
using Xunit;
using static Vts.AutoCopy.Tests.CopyEngine.EngineHarness;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>R2, R3, R4, R5, R6: what makes a copy due, where it goes, and when it may run.</summary>
public sealed class CopyRulesTests() : TestKit(TestConfig)
{
    private TimeSpan Wait => Dilated(TimeSpan.FromSeconds(5));

    [Fact]
    public void R2_Dismount_after_ring_mount_copies_to_the_target_pool()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "A00001");
        engine.Dismount(Pool1, "A00001");

        var call = engine.Transport.Next(Wait);
        // R4: <target vault>/<target pool of P>/<VOLSER>, from <vault>/<P>/<VOLSER>.
        Assert.Equal("/vault/POOL1/A00001", call.Request.SourcePath);
        Assert.Equal("DRPOOL1", call.Request.TargetPool.Value);
        Assert.Equal(Dr, call.Request.Target.Name);
        call.Outcome.SetResult(Engine.Copied);

        var logged = engine.ExpectLog(MessageIds.CopyCompleted);
        Assert.Equal(("POOL1", "A00001"), (logged.Pool, logged.Volser));
        AwaitAssert(() => Assert.Equal(CopyPhase.Idle, engine.Status(Pool1, "A00001").Phase), Wait);
        Assert.Equal(1024, engine.Status(Pool1, "A00001").LastCopy!.Size);
    }

    [Fact]
    public void A_reconciles_copy_waiting_for_a_slot_becomes_a_dismount_copy_when_the_tape_is_written_and_goes_first()
    {
        var engine = new Engine(this, Settings(slots: 1));
        engine.Mount(Pool1, "A00001");
        engine.Dismount(Pool1, "A00001");
        var running = engine.Transport.Next(Wait);
        var made = engine.Pool(Pool1).Ask<CopyRequestAnswer>(new RequestCopy(Pool1, Volser.Parse("R00001"), "missing at dr:DRPOOL1"), Wait).Result;
        Assert.True(made.Made, made.Detail);
        int Waiting() => engine.Context.TransferGate.Ask<GateStatus>(new GetGateStatus(), Wait).Result.Targets.Single().Waiting;
        AwaitAssert(() => Assert.Equal(1, Waiting()), Wait); // R00001 asked first
        engine.Mount(Pool1, "D00002");
        engine.Dismount(Pool1, "D00002");
        AwaitAssert(() => Assert.Equal(2, Waiting()), Wait);
        // R00001 waits in the background lane, behind D00002; then a host writes it: a dismount copy, due before D00002's.
        engine.Mount(Pool1, "R00001");
        engine.Dismount(Pool1, "R00001");
        AwaitAssert(() => Assert.False(engine.Status(Pool1, "R00001").Background), Wait);

        running.Outcome.SetResult(Engine.Copied);
        Assert.Equal("R00001", engine.Transport.Next(Wait).Request.Volser.Value);
    }

    [Fact]
    public void R2_Dismount_after_noring_mount_makes_no_copy()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "B00002", MountMode.NoRing);
        engine.Dismount(Pool1, "B00002");

        // A ring tape afterwards proves the engine is running; the noring one must not have been sent before it.
        engine.Mount(Pool1, "C00003");
        engine.Dismount(Pool1, "C00003");
        var call = engine.Transport.Next(Wait);
        Assert.Equal("C00003", call.Request.Volser.Value);
        call.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
        Assert.Equal(1, engine.Transport.Count);
        Assert.Equal(CopyPhase.Idle, engine.Status(Pool1, "B00002").Phase);
    }

    [Fact]
    public void R3_Dismount_without_a_known_mount_copies_and_logs_why()
    {
        var engine = new Engine(this, Settings());
        engine.Dismount(Pool1, "D00004");

        var info = engine.ExpectLog(MessageIds.DismountWithoutMount);
        Assert.Equal(Severity.Info, info.Severity);
        Assert.Equal("D00004", info.Volser);
        engine.Transport.Next(Wait).Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
    }

    [Fact]
    public void R5_Mount_during_a_transfer_cancels_it_without_counting_an_attempt()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "E00005");
        engine.Dismount(Pool1, "E00005");
        var first = engine.Transport.Next(Wait);

        engine.Mount(Pool1, "E00005");
        AwaitAssert(() => Assert.True(first.Cancellation.IsCancellationRequested), Wait);
        engine.ExpectLog(MessageIds.CopyCancelledByMount);
        var state = engine.Status(Pool1, "E00005");
        Assert.Equal((CopyPhase.Due, 0, MountMode.Ring), (state.Phase, state.Attempts, state.Mounted!.Value));
        engine.AssertNoTransferAsked(); // nothing runs, nor waits to run, while mounted
        Assert.Equal(1, engine.Transport.Count);

        engine.Dismount(Pool1, "E00005");
        var second = engine.Transport.Next(Wait);
        AwaitAssert(() => Assert.Equal(1, engine.Status(Pool1, "E00005").Attempts), Wait);
        second.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
    }

    [Theory]
    [InlineData("cancelled")]
    [InlineData("rejected")]
    public void R16_A_mount_request_withdrawn_leaves_the_tape_dismounted_and_the_copy_it_stopped_runs_again(string reason)
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "W00001");
        engine.Dismount(Pool1, "W00001");
        var first = engine.Transport.Next(Wait);

        // The host asks for the tape again (the request stops the transfer), then cancels the request or it is rejected.
        engine.Mount(Pool1, "W00001");
        AwaitAssert(() => Assert.True(first.Cancellation.IsCancellationRequested), Wait);
        engine.ExpectLog(MessageIds.CopyCancelledByMount);
        var withdrawn = engine.Ask(new RecordMountWithdrawn(Pool1, Volser.Parse("W00001"), "w-1", reason, engine.Scheduler.Now), Pool1);
        Assert.False(withdrawn.Duplicate);

        var again = engine.Transport.Next(Wait);
        Assert.Equal("W00001", again.Request.Volser.Value);
        Assert.Null(engine.Status(Pool1, "W00001").Mounted);
        again.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
        Assert.Equal(["tape.mount.v1", "tape.dismount.v1", "tape.attempt-started.v1", "tape.mount.v1", "tape.attempt-cancelled.v1",
                "tape.mount-withdrawn.v1", "tape.attempt-started.v1", "tape.copied.v1"],
            engine.Journal("tape-POOL1-W00001").Select(Manifest));
        // The same EMS line again: acknowledged, no second effect.
        Assert.True(engine.Ask(new RecordMountWithdrawn(Pool1, Volser.Parse("W00001"), "w-1", reason, engine.Scheduler.Now), Pool1).Duplicate);
    }

    [Fact]
    public void R16_A_withdrawn_mount_request_of_a_tape_with_nothing_owed_makes_no_copy()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "W00002");
        engine.Ask(new RecordMountWithdrawn(Pool1, Volser.Parse("W00002"), "w-2", "cancelled", engine.Scheduler.Now), Pool1);
        var state = engine.Status(Pool1, "W00002");
        Assert.Equal((CopyPhase.Idle, (MountMode?)null), (state.Phase, state.Mounted));

        // A ring tape after it proves the engine runs; the withdrawn one was never sent.
        engine.Dismount(Pool1, "W00003");
        Assert.Equal("W00003", engine.Transport.Next(Wait).Request.Volser.Value);
        Assert.Equal(1, engine.Transport.Count);
    }

    [Fact]
    public void R16_An_accepted_mount_of_a_tape_we_know_mounted_changes_nothing_and_its_dismount_copies_as_its_request_said()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "K00001", MountMode.NoRing);
        var accepted = engine.Ask(new RecordMountAccepted(Pool1, Volser.Parse("K00001"), "k-1", engine.Scheduler.Now), Pool1);
        Assert.True(accepted.Duplicate); // nothing journaled: the request counted already
        Assert.Equal(["tape.mount.v1"], engine.Journal("tape-POOL1-K00001").Select(Manifest));
        Assert.Equal(MountMode.NoRing, engine.Status(Pool1, "K00001").Mounted);
    }

    [Fact]
    public void R16_An_accepted_mount_we_never_saw_requested_stops_a_running_transfer_and_the_dismount_copies_again()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "K00002");
        engine.Dismount(Pool1, "K00002");
        var first = engine.Transport.Next(Wait);

        // The request line was lost; 648, read after the dismount, says the host has the tape: R5, nothing may run now.
        engine.Scheduler.Advance(TimeSpan.FromSeconds(1));
        var accepted = engine.Ask(new RecordMountAccepted(Pool1, Volser.Parse("K00002"), "k-2", engine.Scheduler.Now), Pool1);
        Assert.False(accepted.Duplicate);
        AwaitAssert(() => Assert.True(first.Cancellation.IsCancellationRequested), Wait);
        engine.ExpectLog(MessageIds.CopyCancelledByMount);
        var state = engine.Status(Pool1, "K00002");
        Assert.Equal((CopyPhase.Due, MountMode.Ring), (state.Phase, state.Mounted!.Value)); // read/write: a copy rather than none

        engine.Dismount(Pool1, "K00002");
        var again = engine.Transport.Next(Wait);
        Assert.Equal("K00002", again.Request.Volser.Value);
        again.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
        Assert.Equal(["tape.mount.v1", "tape.dismount.v1", "tape.attempt-started.v1", "tape.mount.v1", "tape.attempt-cancelled.v1",
                "tape.dismount.v1", "tape.attempt-started.v1", "tape.copied.v1"],
            engine.Journal("tape-POOL1-K00002").Select(Manifest));
        Assert.True(engine.Ask(new RecordMountAccepted(Pool1, Volser.Parse("K00002"), "k-2", engine.Scheduler.Now), Pool1).Duplicate);
    }

    [Fact]
    public void R16_An_accepted_mount_taken_in_before_the_tapes_dismount_but_reaching_it_after_is_stale_and_the_copy_runs()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "K00003");
        var requested = engine.Scheduler.Now; // the 648's line was read here...
        engine.Scheduler.Advance(TimeSpan.FromSeconds(1));
        engine.Dismount(Pool1, "K00003"); // ...the dismount's after it, but journaled first
        var call = engine.Transport.Next(Wait);

        var stale = engine.Ask(new RecordMountAccepted(Pool1, Volser.Parse("K00003"), "k-3", requested), Pool1);
        Assert.True(stale.Duplicate);
        var state = engine.Status(Pool1, "K00003");
        Assert.Equal((CopyPhase.Copying, (MountMode?)null), (state.Phase, state.Mounted));
        Assert.False(call.Cancellation.IsCancellationRequested);
        call.Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);
        Assert.Equal(["tape.mount.v1", "tape.dismount.v1", "tape.attempt-started.v1", "tape.copied.v1"],
            engine.Journal("tape-POOL1-K00003").Select(Manifest));
    }

    [Fact]
    public void R6_Several_dismounts_while_due_give_one_copy_and_never_two_transfers_at_once()
    {
        var engine = new Engine(this, Settings(slots: 1));
        // Another tape holds the only slot, so F00006 stays due through all its dismounts.
        engine.Dismount(Pool1, "Z00001");
        var blocker = engine.Transport.Next(Wait);
        for (var i = 0; i < 4; i++)
        {
            engine.Mount(Pool1, "F00006");
            engine.Dismount(Pool1, "F00006");
        }
        blocker.Outcome.SetResult(Engine.Copied);

        var call = engine.Transport.Next(Wait);
        Assert.Equal("F00006", call.Request.Volser.Value);
        call.Outcome.SetResult(Engine.Copied);
        AwaitAssert(() => Assert.Equal(CopyPhase.Idle, engine.Status(Pool1, "F00006").Phase), Wait);
        Assert.Equal(2, engine.Transport.Count);
        Assert.False(engine.Transport.OverlapSeen);
    }

    [Fact]
    public void A_repeated_event_id_is_acknowledged_again_with_no_second_effect()
    {
        var engine = new Engine(this, Settings());
        var volser = Volser.Parse("G00007");
        var first = engine.Ask(new RecordDismount(Pool1, volser, "e-1", engine.Scheduler.Now), Pool1);
        engine.Transport.Next(Wait).Outcome.SetResult(Engine.Copied);
        engine.ExpectLog(MessageIds.CopyCompleted);

        var again = engine.Ask(new RecordDismount(Pool1, volser, "e-1", engine.Scheduler.Now), Pool1);
        Assert.False(first.Duplicate);
        Assert.True(again.Duplicate);
        Assert.Equal("e-1", again.EventId);
        Assert.Equal(CopyPhase.Idle, engine.Status(Pool1, "G00007").Phase);
        Assert.Equal(1, engine.Transport.Count);
    }

    [Fact]
    public void A_tape_with_nothing_to_do_stops_its_actor()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "H00008");
        var pool = engine.Pool(Pool1);
        var tape = Sys.ActorSelection(pool.Path / "H00008").ResolveOne(Wait).GetAwaiter().GetResult();
        Watch(tape);
        engine.Dismount(Pool1, "H00008");
        engine.Transport.Next(Wait).Outcome.SetResult(Engine.Copied);
        ExpectTerminated(tape, Wait);

        // It is started again from its journal when needed.
        Assert.Equal(1024, engine.Status(Pool1, "H00008").LastCopy!.Size);
    }

    [Fact]
    public void The_pool_summary_counts_busy_tapes_and_a_status_query_leaves_no_trace_in_the_pools_journal()
    {
        var engine = new Engine(this, Settings());
        engine.Mount(Pool1, "J00001");
        engine.Dismount(Pool1, "J00002");
        AwaitAssert(() =>
        {
            var summary = Summary(engine);
            Assert.Equal(2, summary.Busy.Values.Sum());
            Assert.Equal(1, summary.Mounted);
            Assert.Equal(["J00001", "J00002"], Listed(engine, phase: null).Select(t => t.Volser));
        }, Wait);
        Assert.Equal(MountMode.Ring, Listed(engine, phase: null).Single(t => t.Volser == "J00001").State.Mounted);

        // Asking about a tape never seen answers "unknown" and does not make it busy.
        var status = engine.Pool(Pool1).Ask<TapeStatus>(new GetTapeStatus(Pool1, Volser.Parse("J00009")), Wait).GetAwaiter().GetResult();
        Assert.False(status.Known);
        engine.Restart();
        AwaitAssert(() => Assert.Equal(["J00001", "J00002"], Listed(engine, phase: null).Select(t => t.Volser)), Wait);
    }

    [Fact]
    public void A_pool_owing_many_copies_is_counted_in_its_summary_and_listed_whole_page_by_page()
    {
        var engine = new Engine(this, Settings());
        var volsers = Enumerable.Range(0, 2 * GetPoolTapes.PageSize + 7).Select(i => $"P{i:D5}").ToList();
        foreach (var volser in volsers) engine.Dismount(Pool1, volser);

        AwaitAssert(() =>
        {
            var summary = Summary(engine);
            Assert.Equal(volsers.Count, summary.Busy.Values.Sum());
            Assert.Equal(volsers.Count, summary.Owed);
            Assert.Equal(PoolSummary.OldestOwedShown, summary.OldestOwed.Count);
            Assert.NotNull(summary.OldestDueSince);
        }, Wait);
        // Pages in volser order, none repeated, none left out; a phase filters. (No transfer ends here, so the two
        // copying now stay copying between the listings.)
        var all = Listed(engine, phase: null);
        Assert.Equal(volsers, all.Select(t => t.Volser));
        var due = Listed(engine, CopyPhase.Due);
        Assert.All(due, t => Assert.Equal(CopyPhase.Due, t.State.Phase));
        Assert.Equal(all.Where(t => t.State.Phase == CopyPhase.Due).Select(t => t.Volser), due.Select(t => t.Volser));
        // After the last tape, and after a volser the pool does not hold (between two it does): where the order says.
        var past = engine.Pool(Pool1).Ask<PoolTapes>(new GetPoolTapes(Pool1, null, "ZZZZZZ"), Wait).GetAwaiter().GetResult();
        Assert.Equal((0, false), (past.Tapes.Count, past.More));
        var between = volsers[7] + "0"; // sorts after volsers[7], before volsers[8]
        var page = engine.Pool(Pool1).Ask<PoolTapes>(new GetPoolTapes(Pool1, null, between), Wait).GetAwaiter().GetResult();
        Assert.Equal(volsers[8], page.Tapes[0].Volser);
    }

    private PoolSummary Summary(Engine engine) =>
        engine.Pool(Pool1).Ask<PoolSummary>(new GetPoolSummary(Pool1), Wait).GetAwaiter().GetResult();

    /// <summary>Every busy tape of the pool, asked a page at a time as the admin asks.</summary>
    private List<BusyTape> Listed(Engine engine, CopyPhase? phase)
    {
        var tapes = new List<BusyTape>();
        string? after = null;
        while (true)
        {
            var page = engine.Pool(Pool1).Ask<PoolTapes>(new GetPoolTapes(Pool1, phase, after), Wait)
                .GetAwaiter().GetResult();
            Assert.True(page.Tapes.Count <= GetPoolTapes.PageSize);
            tapes.AddRange(page.Tapes);
            if (!page.More) return tapes;
            after = page.Tapes[^1].Volser;
        }
    }

    [Fact]
    public void R6_A_dismount_during_a_transfer_waits_for_it_then_copies_again_from_a_fresh_series()
    {
        var engine = new Engine(this, Settings());
        engine.Dismount(Pool1, "K00001");
        var first = engine.Transport.Next(Wait);
        engine.Dismount(Pool1, "K00001"); // a repeated EMS text line, or one whose mount was never seen (R3)
        Assert.Equal(1, engine.Transport.Count);

        first.Outcome.SetResult(new TransferOutcome.Failed("connection reset"));
        var second = engine.Transport.Next(Wait); // at once: no 5-minute wait, the dismount began a new series
        AwaitAssert(() => Assert.Equal(1, engine.Status(Pool1, "K00001").Attempts), Wait);
        engine.Dismount(Pool1, "K00001");
        second.Outcome.SetResult(Engine.Copied);

        var third = engine.Transport.Next(Wait);
        third.Outcome.SetResult(Engine.Copied);
        AwaitAssert(() => Assert.Equal(CopyPhase.Idle, engine.Status(Pool1, "K00001").Phase), Wait);
        Assert.Equal(3, engine.Transport.Count);
        Assert.False(engine.Transport.OverlapSeen);
    }

    private string Manifest(object e) =>
        ((Akka.Serialization.SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(e)).Manifest(e);
}
