using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Time.Testing;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Xunit;
using static Vts.AutoCopy.Tests.CopyEngine.EngineHarness;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>R13; docs/configuration.md, Bandwidth limits: a target's bandwidth limit holds over all its transfers, wherever they run: the gate splits
/// it among them; the schedule, an operator's override and its expiry change it as the clock turns.</summary>
public sealed class BandwidthGateTests(Xunit.Abstractions.ITestOutputHelper output) : TestKit(TestConfig, "test", output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    // Monday 2026-11-30, noon, in a node whose local time is UTC.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Gate(BandwidthSettings bandwidth, int slots = 3)
    {
        _clock.SetLocalTimeZone(TimeZoneInfo.Utc);
        return Sys.ActorOf(TransferGate.Props(slots, TimeSpan.Zero,
            ImmutableDictionary<TargetName, BandwidthSettings>.Empty.Add(Dr, bandwidth), _clock));
    }

    /// <summary>A tape granted a slot, with its share of the limit from the start.</summary>
    private TestProbe Granted(IActorRef gate, string volser, long? share)
    {
        var tape = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse(volser), T0, 1), tape);
        Assert.Equal(share, tape.ExpectMsg<TransferSlotGranted>().Share);
        return tape;
    }

    private static void ExpectShare(TestProbe tape, long? bytesPerSecond) =>
        Assert.Equal(bytesPerSecond, tape.ExpectMsg<TransferShare>().BytesPerSecond);

    private GateStatus Status(IActorRef gate)
    {
        gate.Tell(new GetGateStatus(), TestActor);
        return ExpectMsg<GateStatus>();
    }

    [Fact]
    public void The_limit_is_split_evenly_among_the_running_transfers_and_told_again_as_they_come_and_go()
    {
        var gate = Gate(new BandwidthSettings(30_000_000, []));
        var a = Granted(gate, "A1", 30_000_000);
        var b = Granted(gate, "A2", 15_000_000);
        ExpectShare(a, 15_000_000);
        var c = Granted(gate, "A3", 10_000_000);
        ExpectShare(a, 10_000_000);
        ExpectShare(b, 10_000_000);

        gate.Tell(new ReleaseTransferSlot(Dr), a);
        ExpectShare(b, 15_000_000);
        ExpectShare(c, 15_000_000);
        Sys.Stop(b.Ref); // a tape that dies gives its share back too
        ExpectShare(c, 30_000_000);

        var status = Assert.Single(Status(gate).Targets);
        Assert.Equal((30_000_000L, "configuration", 1), (status.Limit!.Value, status.LimitSource, status.Running));
    }

    [Fact]
    public void An_unlimited_target_tells_no_shares()
    {
        var gate = Gate(BandwidthSettings.Unlimited);
        var a = Granted(gate, "A1", null);
        Granted(gate, "A2", null);
        gate.Tell(new GetGateStatus(), a); // answered after anything the gate would have told a
        Assert.IsType<GateStatus>(a.ReceiveOne(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void The_schedule_turns_with_the_clock()
    {
        var gate = Gate(new BandwidthSettings(100_000_000, [BandwidthWindow.Parse("Mon-Fri", "07:00", "19:00", "20MB/s", "w")]));
        var tape = Granted(gate, "A1", 20_000_000);
        Assert.Equal("schedule Mon-Fri 07:00-19:00", Assert.Single(Status(gate).Targets).LimitSource);

        _clock.Advance(TimeSpan.FromHours(7)); // 19:00
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        ExpectShare(tape, 100_000_000);
        Assert.Equal("configuration", Assert.Single(Status(gate).Targets).LimitSource);
    }

    [Fact]
    public void An_override_holds_over_the_schedule_survives_the_gate_moving_and_ends_when_its_time_is_up()
    {
        var bandwidth = new BandwidthSettings(100_000_000, [BandwidthWindow.Parse("Mon-Fri", "07:00", "19:00", "20MB/s", "w")]);
        var gate = Gate(bandwidth);
        var tape = Granted(gate, "A1", 20_000_000);

        gate.Tell(new ThrottleTarget(Dr, 5_000_000, TimeSpan.FromMinutes(30), Lift: false), TestActor);
        var answer = ExpectMsg<ThrottleAnswer>();
        Assert.True(answer.Done);
        Assert.Contains("40 Mbit/s until 2026-11-30 12:30:00Z", answer.Detail);
        ExpectShare(tape, 5_000_000);
        Assert.StartsWith("override until", Assert.Single(Status(gate).Targets).LimitSource);

        // The gate moves (its node left): the new one reads the override from the journal.
        Watch(gate);
        Sys.Stop(gate);
        ExpectTerminated(gate);
        var moved = Gate(bandwidth);
        // The tape holding a slot tells it; its share is the override's once the new gate has read it back (with the
        // answer, or just after it).
        moved.Tell(new HoldingTransferSlot(Dr, Pool1, Volser.Parse("A1")), tape);
        if (tape.ExpectMsg<TransferSlotGranted>().Share != 5_000_000)
            tape.FishForMessage<TransferShare>(s => s.BytesPerSecond == 5_000_000, TimeSpan.FromSeconds(3));

        _clock.Advance(TimeSpan.FromMinutes(31));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        ExpectShare(tape, 20_000_000);
        Assert.Equal("schedule Mon-Fri 07:00-19:00", Assert.Single(Status(moved).Targets).LimitSource);
    }

    [Fact]
    public void An_override_until_changed_again_is_lifted_by_configured_and_unlimited_is_an_override_too()
    {
        var gate = Gate(new BandwidthSettings(30_000_000, []));
        var tape = Granted(gate, "A1", 30_000_000);

        gate.Tell(new ThrottleTarget(Dr, null, null, Lift: false), TestActor);
        Assert.Contains("unlimited until changed again", ExpectMsg<ThrottleAnswer>().Detail);
        ExpectShare(tape, null);
        var status = Assert.Single(Status(gate).Targets);
        Assert.Equal((null, "override"), (status.Limit, status.LimitSource));

        _clock.Advance(TimeSpan.FromDays(30));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("override", Assert.Single(Status(gate).Targets).LimitSource);

        gate.Tell(new ThrottleTarget(Dr, null, null, Lift: true), TestActor);
        Assert.Contains("override lifted", ExpectMsg<ThrottleAnswer>().Detail);
        ExpectShare(tape, 30_000_000);
        gate.Tell(new ThrottleTarget(Dr, null, null, Lift: true), TestActor);
        Assert.Contains("has no override", ExpectMsg<ThrottleAnswer>().Detail);
    }

    [Fact]
    public void Progress_from_the_running_transfers_is_the_targets_throughput_and_its_last_hour()
    {
        var gate = Gate(new BandwidthSettings(30_000_000, []));
        var a = Granted(gate, "A1", 30_000_000);
        var b = Granted(gate, "A2", 15_000_000);
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A1"), 6_000_000, 4_000_000, 10_000_000, 2_000_000), a);
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A2"), 1_000_000, 1_000_000, 50_000_000, 1_000_000), b);
        var status = Assert.Single(Status(gate).Targets);
        Assert.Equal(3_000_000, status.BytesPerSecond);
        Assert.Equal([("A1", 6_000_000L, 15_000_000L), ("A2", 1_000_000L, 15_000_000L)],
            status.Transfers.Select(t => (t.Volser.Value, t.Done, t.Share!.Value)));

        // Its last report, then the release: the bytes count in the sample, the transfer leaves the list.
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A1"), 10_000_000, 8_000_000, 10_000_000, 2_000_000), a);
        gate.Tell(new ReleaseTransferSlot(Dr), a);
        _clock.Advance(TransferGate.SampleEvery);
        Scheduler.Advance(TransferGate.SampleEvery);
        status = Assert.Single(Status(gate).Targets);
        Assert.Equal(["A2"], status.Transfers.Select(t => t.Volser.Value));
        var sample = Assert.Single(status.History);
        Assert.Equal((9_000_000 / 15, 1, 0), (sample.BytesPerSecond, sample.Running, sample.Waiting));
    }

    [Fact]
    public void A_transfer_pacing_to_another_share_than_the_gate_gave_is_told_again()
    {
        var gate = Gate(new BandwidthSettings(30_000_000, []));
        var tape = Granted(gate, "A1", 30_000_000);
        // Its report says it runs unlimited: the share it was told was lost on the way.
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A1"), 1000, 1000, 10_000, 500, Share: null), tape);
        ExpectShare(tape, 30_000_000);
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A1"), 2000, 2000, 10_000, 500, Share: 30_000_000), tape);
        gate.Tell(new GetGateStatus(), tape); // answered after anything the gate would have told it
        Assert.IsType<GateStatus>(tape.ReceiveOne(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void A_transfer_from_before_the_gate_moved_counts_in_the_throughput_from_its_first_report_here()
    {
        var gate = Gate(new BandwidthSettings(30_000_000, []));
        var held = CreateTestProbe();
        gate.Tell(new HoldingTransferSlot(Dr, Pool1, Volser.Parse("A1")), held);
        held.ExpectMsg<TransferSlotGranted>();
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A1"), 900_000_000, 900_000_000, 1_000_000_000, 1_000_000, 30_000_000), held);
        gate.Tell(new TransferProgress(Dr, Pool1, Volser.Parse("A1"), 915_000_000, 915_000_000, 1_000_000_000, 1_000_000, 30_000_000), held);
        _clock.Advance(TransferGate.SampleEvery);
        Scheduler.Advance(TransferGate.SampleEvery);
        Assert.Equal(15_000_000 / 15, Assert.Single(Assert.Single(Status(gate).Targets).History).BytesPerSecond);
    }
}
