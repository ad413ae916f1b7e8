using Akka.Actor;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Xunit;
using static Vts.AutoCopy.Tests.CopyEngine.EngineHarness;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>R13: at most N transfers per target; dismount order; turns across pools.</summary>
public sealed class TransferGateTests() : TestKit(TestConfig)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The gate's count of running and waiting transfers for dr, asked behind everything told to it before: any
    /// grant those messages caused has been sent by the time it answers.</summary>
    private static (int Running, int Waiting) Settled(IActorRef gate)
    {
        var status = gate.Ask<GateStatus>(new GetGateStatus(), TimeSpan.FromSeconds(10)).Result;
        var dr = status.Targets.Single(t => t.Target == Dr);
        return (dr.Running, dr.Waiting);
    }

    /// <summary>Whether anything the probe holds now is a grant (a queued answer is not).</summary>
    private static bool GrantedSoFar(Akka.TestKit.TestProbe tape)
    {
        var granted = false;
        while (tape.HasMessages) granted |= tape.ReceiveOne(TimeSpan.Zero) is TransferSlotGranted;
        return granted;
    }

    [Fact]
    public void R13_At_most_the_configured_transfers_per_target_run_at_once()
    {
        var gate = Sys.ActorOf(TransferGate.Props(2));
        var tapes = Enumerable.Range(0, 4).Select(i => Tape($"tape{i}")).ToList();
        for (var i = 0; i < 4; i++) gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse($"A0000{i}"), T0.AddSeconds(i), 1), tapes[i]);

        tapes[0].ExpectMsg<TransferSlotGranted>();
        tapes[1].ExpectMsg<TransferSlotGranted>();
        Assert.Equal((2, 2), Settled(gate));
        Assert.False(GrantedSoFar(tapes[2]), "a third slot granted");

        gate.Tell(new ReleaseTransferSlot(Dr), tapes[1]);
        tapes[2].FishForMessage(m => m is TransferSlotGranted);
        Assert.Equal((2, 1), Settled(gate));
        Assert.False(GrantedSoFar(tapes[3]), "a third slot granted");

        // A tape actor that dies gives its slot back.
        Sys.Stop(tapes[0].Ref);
        tapes[3].ExpectMsg<TransferSlotGranted>();
    }

    [Fact]
    public void R13_Due_copies_start_in_dismount_order_taking_turns_across_pools()
    {
        var gate = Sys.ActorOf(TransferGate.Props(1));
        var holder = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("HOLD"), T0, 1), holder);
        holder.ExpectMsg<TransferSlotGranted>();

        var granted = new List<string>();
        var probes = new Dictionary<string, Akka.TestKit.TestProbe>();
        void Request(PoolName pool, string volser, int second)
        {
            var p = probes[volser] = Tape();
            gate.Tell(new RequestTransferSlot(Dr, pool, Volser.Parse(volser), T0.AddSeconds(second), 1), p);
        }
        // POOL1 has a backlog; POOL2 one tape that was dismounted later than all of them.
        Request(Pool1, "P1C", 3);
        Request(Pool1, "P1A", 1);
        Request(Pool1, "P1B", 2);
        Request(Pool2, "P2A", 10);

        var current = holder;
        for (var i = 0; i < 4; i++)
        {
            gate.Tell(new ReleaseTransferSlot(Dr), current);
            KeyValuePair<string, Akka.TestKit.TestProbe> next = default;
            AwaitAssert(() => next = probes.Single(kv => kv.Value.HasMessages), Dilated(TimeSpan.FromSeconds(3)));
            granted.Add(next.Key);
            current = next.Value;
            probes.Remove(next.Key);
        }
        Assert.Equal(["P1A", "P2A", "P1B", "P1C"], granted);
    }

    [Fact]
    public void A_reconciles_copies_wait_behind_dismount_copies_and_leave_a_slot_free_for_the_next()
    {
        var gate = Sys.ActorOf(TransferGate.Props(2));
        var dismounted = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("D00001"), T0.AddSeconds(5), 1), dismounted);
        dismounted.ExpectMsg<TransferSlotGranted>();
        // Due earlier than the dismount copies, and still behind them; one slot is in use, so none for it now.
        var reconciled = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool2, Volser.Parse("R00001"), T0, 1, Background: true), reconciled);
        reconciled.ExpectMsg<TransferSlotQueued>();
        var later = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("D00002"), T0.AddSeconds(9), 1), later);
        later.ExpectMsg<TransferSlotGranted>();
        Assert.Equal((2, 1), Settled(gate));

        gate.Tell(new ReleaseTransferSlot(Dr), dismounted);
        Assert.Equal((1, 1), Settled(gate)); // the last free slot is kept for a dismount copy
        Assert.False(GrantedSoFar(reconciled), "a reconcile's copy took the last free slot");
        gate.Tell(new ReleaseTransferSlot(Dr), later);
        reconciled.FishForMessage(m => m is TransferSlotGranted);
        // With it running, a dismount copy still finds a slot at once.
        var next = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("D00003"), T0.AddSeconds(20), 1), next);
        next.ExpectMsg<TransferSlotGranted>();
    }

    [Fact]
    public void A_reconciles_copy_waiting_in_the_background_lane_that_a_dismount_made_a_dismount_copy_moves_ahead()
    {
        var gate = Sys.ActorOf(TransferGate.Props(2));
        var running = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("D00001"), T0, 1), running);
        running.ExpectMsg<TransferSlotGranted>();
        var reconciled = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("R00001"), T0.AddSeconds(1), 1, Background: true), reconciled);
        reconciled.ExpectMsg<TransferSlotQueued>(); // the last free slot is not for it
        var dismounted = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("D00002"), T0.AddSeconds(2), 1), dismounted);
        dismounted.ExpectMsg<TransferSlotGranted>();
        var behind = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("D00003"), T0.AddSeconds(3), 1), behind);
        Assert.Equal((2, 2), Settled(gate));

        // R00001 is dismounted (written): the same request, as a dismount copy. It now goes before D00003, due after it.
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("R00001"), T0.AddSeconds(1), 1), reconciled);
        reconciled.ExpectMsg<TransferSlotQueued>();
        gate.Tell(new ReleaseTransferSlot(Dr), running);
        reconciled.ExpectMsg<TransferSlotGranted>();
        Assert.Equal((2, 1), Settled(gate));
        Assert.False(GrantedSoFar(behind), "the later dismount copy went first"); // granted in the same turn as R00001's, if at all
    }

    [Fact]
    public void R13_A_tape_restarted_while_holding_a_slot_gets_one_again_instead_of_leaking_it()
    {
        var gate = Sys.ActorOf(TransferGate.Props(1));
        var tape = Tape();
        var other = Tape();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A1"), T0, 1), tape);
        tape.ExpectMsg<TransferSlotGranted>();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A2"), T0.AddSeconds(1), 1), other);

        // Same actor, fresh state after a restart: it asks again. Its old slot is void, and it queues again in
        // dismount order (it was dismounted first), instead of being ignored with a slot nobody will give back.
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A1"), T0, 2), tape);
        tape.ExpectMsg<TransferSlotGranted>();
        Assert.Equal((1, 1), Settled(gate));
        Assert.False(GrantedSoFar(other), "a second slot granted");
        gate.Tell(new ReleaseTransferSlot(Dr), tape);
        other.ExpectMsg<TransferSlotGranted>();
    }

    [Fact]
    public void R13_A_gate_that_took_over_counts_the_transfers_still_running_before_it_grants_any()
    {
        // The gate moved to another node: a tape still copying tells the new gate of its slot, a waiting one asks again.
        var gate = Sys.ActorOf(TransferGate.Props(1, handOverGrace: TimeSpan.FromSeconds(1)));
        var running = Tape();
        var waiting = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("W1"), T0, 1), waiting);
        waiting.ExpectMsg<TransferSlotQueued>();
        gate.Tell(new HoldingTransferSlot(Dr, Pool1, Volser.Parse("R1")), running);
        ((Akka.TestKit.TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(1));

        var status = gate.Ask<GateStatus>(new GetGateStatus()).GetAwaiter().GetResult();
        Assert.Equal((1, 1), (status.Targets.Single().Running, status.Targets.Single().Waiting));
        gate.Tell(new ReleaseTransferSlot(Dr), running);
        waiting.ExpectMsg<TransferSlotGranted>();
    }

    [Fact]
    public void R13_A_queued_tape_is_told_so_and_watches_the_gate()
    {
        var gate = Sys.ActorOf(TransferGate.Props(1));
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A1"), T0, 1), first);
        first.ExpectMsg<TransferSlotGranted>();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A2"), T0, 1), second);
        Assert.Equal(Dr, second.ExpectMsg<TransferSlotQueued>().Target);
    }

    /// <summary>A tape's probe; the gate's "you are queued" is not what these tests are about.</summary>
    private Akka.TestKit.TestProbe Tape(string? name = null)
    {
        var probe = name is null ? CreateTestProbe() : CreateTestProbe(name);
        probe.IgnoreMessages<TransferSlotQueued>();
        return probe;
    }

    [Fact]
    public void R13_A_request_told_again_is_answered_again_and_still_holds_one_slot()
    {
        var gate = Sys.ActorOf(TransferGate.Props(1));
        var tape = CreateTestProbe();
        var other = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A1"), T0, 7), tape);
        tape.ExpectMsg<TransferSlotGranted>();
        // Its answer was lost (the gate was moving): the tape tells it again, and is answered again.
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A1"), T0, 7), tape);
        tape.ExpectMsg<TransferSlotGranted>();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A2"), T0, 1), other);
        other.ExpectMsg<TransferSlotQueued>();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A2"), T0, 1), other);
        other.ExpectMsg<TransferSlotQueued>();

        var status = gate.Ask<GateStatus>(new GetGateStatus()).GetAwaiter().GetResult().Targets.Single();
        Assert.Equal((1, 1), (status.Running, status.Waiting));
        gate.Tell(new ReleaseTransferSlot(Dr), tape);
        other.ExpectMsg<TransferSlotGranted>();
    }
}
