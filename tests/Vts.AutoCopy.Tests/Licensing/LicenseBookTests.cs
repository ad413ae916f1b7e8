using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Time.Testing;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Licensing;
using Vts.Testing;
using Xunit;
using static Vts.AutoCopy.Tests.CopyEngine.EngineHarness;

namespace Vts.AutoCopy.Tests.Licensing;

/// <summary>R12 at the transfer gate: without a valid license copies queue and are held; a key installed releases them;
/// the site id, the key and the evaluation's start are journaled.</summary>
public sealed class LicenseBookTests() : TestKit(TestConfig)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private int _gates;

    private IActorRef Gate(LicenseSettings license) =>
        Sys.ActorOf(TransferGate.Props(2, clock: _clock, license: license, node: "n1"), $"gate-{++_gates}");

    private LicenseState License(IActorRef gate) => gate.Ask<LicenseState>(new GetLicense(), Step).Result;

    /// <summary>The book has recovered (the gate knows the state) and says <paramref name="state"/>.</summary>
    private LicenseState Settled(IActorRef gate, string state)
    {
        LicenseState now = null!;
        AwaitAssert(() => Assert.Equal(state, (now = License(gate)).State), Step);
        return now;
    }

    private void Stop(IActorRef gate)
    {
        Watch(gate);
        Sys.Stop(gate);
        ExpectTerminated(gate, Step);
    }

    [Fact]
    public void R12_A_new_cluster_evaluates_for_30_days_and_copies_run()
    {
        var gate = Gate(LicenseSettings.Default);
        var state = Settled(gate, "evaluation");
        Assert.Equal(DateOnly.FromDateTime(_clock.GetUtcNow().AddDays(30).UtcDateTime), state.EvaluationUntil);
        Assert.Matches("^VTS-", state.Site);
        var tape = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A00001"), _clock.GetUtcNow(), 1), tape);
        tape.ExpectMsg<TransferSlotGranted>(Step);
    }

    [Fact]
    public void R12_Without_a_key_copies_are_held_and_a_key_installed_releases_them_and_outlives_a_restart()
    {
        var gate = Gate(new LicenseSettings(null, Evaluation: false));
        var site = Settled(gate, "held").Site;
        var tapes = Enumerable.Range(1, 3).Select(_ => CreateTestProbe()).ToList();
        for (var i = 0; i < 3; i++) gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse($"A0000{i + 1}"), _clock.GetUtcNow(), 1), tapes[i]);
        AwaitAssert(() => Assert.Equal(3, License(gate).Held), Step);
        Assert.Contains("vts.license.evaluation = off", License(gate).Detail);

        var refused = gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.ForAYear("VTS-SOMEONEELSE0")), Step).Result;
        Assert.False(refused.Installed);
        Assert.Contains("for another site", refused.Detail);
        Assert.Equal(3, License(gate).Held);

        var installed = gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.ForAYear(site)), Step).Result;
        Assert.True(installed.Installed, installed.Detail);
        tapes[0].FishForMessage(m => m is TransferSlotGranted, Step);
        tapes[1].FishForMessage(m => m is TransferSlotGranted, Step);
        var licensed = License(gate);
        Assert.Equal(("licensed", "Example Storage Ltd", 0), (licensed.State, licensed.Holder, licensed.Held));

        Stop(gate);
        var again = Settled(Gate(new LicenseSettings(null, Evaluation: false)), "licensed");
        Assert.Equal(site, again.Site);
    }

    [Fact]
    public void R12_The_evaluation_ends_30_days_after_the_first_start_not_the_latest()
    {
        var gate = Gate(LicenseSettings.Default);
        var site = Settled(gate, "evaluation").Site;
        Stop(gate);
        _clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromMinutes(1));
        var held = Settled(Gate(LicenseSettings.Default), "held");
        Assert.Equal(site, held.Site);
        Assert.Contains("evaluation ended on", held.Detail);
    }

    [Fact]
    public void R12_A_key_in_the_configuration_is_installed_at_start_and_an_expired_one_holds_copies()
    {
        var gate = Gate(new LicenseSettings(null, Evaluation: false));
        var site = Settled(gate, "held").Site;
        Stop(gate);
        var expiresTomorrow = LicenseIssuer.Issue(site, DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime).AddDays(1));
        gate = Gate(new LicenseSettings(expiresTomorrow, Evaluation: false));
        Assert.Equal(DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime).AddDays(1), Settled(gate, "licensed").Expires);
        Stop(gate);

        _clock.Advance(TimeSpan.FromDays(2));
        var held = Settled(Gate(new LicenseSettings(null, Evaluation: false)), "held");
        Assert.Contains("no longer valid (expired on", held.Detail);
    }

    [Fact]
    public void R12_A_key_in_the_configuration_is_installed_once_and_never_over_a_key_installed_later()
    {
        var gate = Gate(new LicenseSettings(null, Evaluation: false));
        var site = Settled(gate, "held").Site;
        Stop(gate);
        var today = DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);
        var configured = LicenseIssuer.Issue(site, today.AddDays(20), "Configured Ltd");
        gate = Gate(new LicenseSettings(configured, Evaluation: false));
        Assert.Equal("Configured Ltd", Settled(gate, "licensed").Holder);
        Assert.True(gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.Issue(site, today.AddDays(400), "Installed Ltd")), Step).Result.Installed);
        Stop(gate);

        // Started again with the same configuration (or the gate moved): the key installed later stays.
        var again = Settled(Gate(new LicenseSettings(configured, Evaluation: false)), "licensed");
        Assert.Equal(("Installed Ltd", today.AddDays(400)), (again.Holder, again.Expires));
    }

    [Fact]
    public void R12_The_event_log_hears_of_the_evaluation_each_day_and_of_a_keys_expiry_7_days_ahead_once()
    {
        var log = CreateTestProbe();
        var gate = Sys.ActorOf(TransferGate.Props(2, clock: _clock, license: LicenseSettings.Default, eventLog: log, node: "n1"), "gate-logged");
        var evaluation = log.FishForMessage<EventLogEntry>(e => e.MessageId == MessageIds.LicenseEvaluation, Step);
        Assert.Contains("until 2026-12-30", evaluation.Text);
        Assert.Equal("license-evaluation-20261130", evaluation.Key); // one a day: the event log keeps the first of a key
        var site = License(gate).Site;

        var today = DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);
        Assert.True(gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.Issue(site, today.AddDays(7))), Step).Result.Installed);
        var warning = log.FishForMessage<EventLogEntry>(e => e.MessageId == MessageIds.LicenseExpiring, Step);
        Assert.Contains("expires in 7 days", warning.Text);
        Assert.Equal($"license-expiring-{today.AddDays(7):yyyyMMdd}-7", warning.Key); // once, whatever the restarts
        Assert.Equal(Severity.Warning, warning.Severity);
    }

    private IActorRef LoggedGate(IActorRef log) =>
        Sys.ActorOf(TransferGate.Props(2, clock: _clock, license: new LicenseSettings(null, Evaluation: false), eventLog: log, node: "n1"),
            $"gate-{++_gates}");

    private DateOnly Today => DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);

    private readonly HashSet<string> _logged = [];

    /// <summary>The next expiry warning the event log would log, whatever else it hears meanwhile. As the event log does
    /// (EventLogActorTests), an entry whose key it logged before is not logged again: a warning repeated under a new key
    /// would be the one fished.</summary>
    private EventLogEntry NextExpiryWarning(Akka.TestKit.TestProbe log) =>
        log.FishForMessage<EventLogEntry>(e => e.MessageId == MessageIds.LicenseExpiring && _logged.Add(e.Key!), Step);

    private (IActorRef Gate, string Site) Licensed(Akka.TestKit.TestProbe log, DateOnly expires)
    {
        var gate = LoggedGate(log);
        var site = Settled(gate, "held").Site;
        Assert.True(gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.Issue(site, expires)), Step).Result.Installed);
        return (gate, site);
    }

    private IActorRef Restarted(IActorRef gate, Akka.TestKit.TestProbe log, TimeSpan after)
    {
        Stop(gate);
        _clock.Advance(after);
        gate = LoggedGate(log);
        Settled(gate, "licensed");
        return gate;
    }

    [Fact]
    public void R12_A_keys_expiry_is_warned_30_7_and_1_days_ahead_once_each_however_often_the_cluster_restarts()
    {
        var log = CreateTestProbe();
        var expires = Today.AddDays(31);
        var (gate, site) = Licensed(log, expires);

        gate = Restarted(gate, log, TimeSpan.FromDays(1));
        Assert.Equal($"license-expiring-{expires:yyyyMMdd}-30", NextExpiryWarning(log).Key);
        gate = Restarted(gate, log, TimeSpan.FromHours(1));
        gate = Restarted(gate, log, TimeSpan.FromDays(23));
        var sevenDays = NextExpiryWarning(log);
        Assert.Equal(($"license-expiring-{expires:yyyyMMdd}-7", Severity.Warning), (sevenDays.Key, sevenDays.Severity));
        Assert.Contains("expires in 7 days", sevenDays.Text);
        gate = Restarted(gate, log, TimeSpan.FromDays(6));
        var oneDay = NextExpiryWarning(log);
        Assert.Equal($"license-expiring-{expires:yyyyMMdd}-1", oneDay.Key);
        Assert.Contains("expires in 1 day,", oneDay.Text);

        // Restarted again on its last day: nothing is warned again. A new key's warning is the next heard, not a repeat.
        gate = Restarted(gate, log, TimeSpan.FromHours(20));
        var renewed = Today.AddDays(3);
        Assert.True(gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.Issue(site, renewed)), Step).Result.Installed);
        Assert.Equal($"license-expiring-{renewed:yyyyMMdd}-7", NextExpiryWarning(log).Key);
    }

    [Fact]
    public void R12_A_threshold_passed_while_the_cluster_was_down_is_still_warned()
    {
        var log = CreateTestProbe();
        var expires = Today.AddDays(40);
        var (gate, _) = Licensed(log, expires);

        gate = Restarted(gate, log, TimeSpan.FromDays(32)); // down on the day 30 were left
        var thirty = NextExpiryWarning(log);
        Assert.Equal($"license-expiring-{expires:yyyyMMdd}-30", thirty.Key);
        Assert.Contains("expires in 8 days", thirty.Text);
        Restarted(gate, log, TimeSpan.FromDays(3)); // down on the day 7 were left
        Assert.Equal($"license-expiring-{expires:yyyyMMdd}-7", NextExpiryWarning(log).Key);
    }

    [Fact]
    public void R12_A_key_installed_with_5_days_left_warns_of_7_days_once_then_of_1_day()
    {
        var log = CreateTestProbe();
        var expires = Today.AddDays(5);
        var (gate, _) = Licensed(log, expires);
        var seven = NextExpiryWarning(log);
        Assert.Equal($"license-expiring-{expires:yyyyMMdd}-7", seven.Key);
        Assert.Contains("expires in 5 days", seven.Text);

        gate = Restarted(gate, log, TimeSpan.FromDays(1));
        Restarted(gate, log, TimeSpan.FromDays(3));
        Assert.Equal($"license-expiring-{expires:yyyyMMdd}-1", NextExpiryWarning(log).Key); // not 30, not 7 again
    }

    [Theory]
    [InlineData(45, null)]
    [InlineData(31, null)]
    [InlineData(30, 30)]
    [InlineData(12, 30)]
    [InlineData(7, 7)]
    [InlineData(5, 7)]
    [InlineData(1, 1)]
    [InlineData(0, 1)]
    public void R12_The_warning_due_is_the_most_urgent_threshold_reached(int daysLeft, int? due) =>
        Assert.Equal(due, ExpiryWarnings.Due(daysLeft, _ => false));

    [Fact]
    public void R12_A_threshold_given_is_not_due_again_and_does_not_bring_back_a_less_urgent_one() =>
        Assert.Null(ExpiryWarnings.Due(3, days => days == 7));

    private IActorRef Running(LicenseSettings license, IActorRef? log = null) =>
        Sys.ActorOf(TransferGate.Props(2, clock: _clock, license: license, eventLog: log, node: "n1"), $"gate-{++_gates}");

    /// <summary>Time passes for a running gate: the node's clock moves, and the book's next look (a timer on the
    /// test's scheduler) comes round.</summary>
    private void Pass(TimeSpan time)
    {
        _clock.Advance(time);
        ((TestScheduler)Sys.Scheduler).Advance(LicenseBook.LookAgain);
    }

    [Fact]
    public void R12_A_running_cluster_holds_copies_once_its_key_expires_without_a_restart()
    {
        var gate = Running(new LicenseSettings(null, Evaluation: false));
        var site = Settled(gate, "held").Site;
        Assert.True(gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.Issue(site, Today)), Step).Result.Installed);
        Settled(gate, "licensed");
        var before = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A00001"), _clock.GetUtcNow(), 1), before);
        before.FishForMessage(m => m is TransferSlotGranted, Step);

        Pass(TimeSpan.FromDays(1)); // past the key's last day; the gate is not restarted
        Assert.Contains("no longer valid (expired on", Settled(gate, "held").Detail);
        var after = CreateTestProbe();
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A00002"), _clock.GetUtcNow(), 1), after);
        after.ExpectMsg<TransferSlotQueued>(Step);
        AwaitAssert(() => Assert.Equal(1, License(gate).Held), Step);
    }

    [Fact]
    public void R12_A_running_cluster_logs_each_day_of_its_evaluation_and_holds_when_it_ends_without_a_restart()
    {
        var log = CreateTestProbe();
        var gate = Running(LicenseSettings.Default, log);
        Assert.Equal("license-evaluation-20261130",
            log.FishForMessage<EventLogEntry>(e => e.MessageId == MessageIds.LicenseEvaluation, Step).Key);

        Pass(TimeSpan.FromDays(1));
        Assert.Equal("license-evaluation-20261201",
            log.FishForMessage<EventLogEntry>(e => e.MessageId == MessageIds.LicenseEvaluation && e.Key != "license-evaluation-20261130", Step).Key);

        Pass(TimeSpan.FromDays(29));
        Assert.Contains("evaluation ended on", Settled(gate, "held").Detail);
        gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse("A00001"), _clock.GetUtcNow(), 1), CreateTestProbe());
        Assert.Equal(Pool1.Value, log.FishForMessage<EventLogEntry>(e => e.MessageId == MessageIds.CopiesHeld, Step).Pool);
    }

    [Fact]
    public void R12_Held_copies_are_told_to_the_event_log_once_per_pool_not_per_tape()
    {
        var log = CreateTestProbe();
        var gate = LoggedGate(log);
        Settled(gate, "held");
        foreach (var (pool, volser) in new[] { (Pool1, "A00001"), (Pool2, "B00001"), (Pool1, "A00002"), (Pool2, "B00002"), (Pool1, "A00003") })
            gate.Tell(new RequestTransferSlot(Dr, pool, Volser.Parse(volser), _clock.GetUtcNow(), 1), CreateTestProbe());
        ((TestScheduler)Sys.Scheduler).Advance(TimeSpan.FromSeconds(5)); // the gate's ticks look at the held pools again, same day

        // The gate's answer comes after everything it told the event log before it.
        Assert.Equal(5, License(gate).Held);
        var held = new List<EventLogEntry>();
        while (log.HasMessages)
            if (log.ReceiveOne(TimeSpan.Zero) is EventLogEntry { MessageId: MessageIds.CopiesHeld } entry) held.Add(entry);
        Assert.Equal(["POOL1", "POOL2"], held.Select(e => e.Pool!).Order());
        Assert.All(held, e => Assert.Null(e.Volser));
    }

    [Fact]
    public void R12_A_key_installed_releases_every_held_copy_in_dismount_order()
    {
        var gate = Sys.ActorOf(TransferGate.Props(1, clock: _clock, license: new LicenseSettings(null, Evaluation: false), node: "n1"), "gate-one-slot");
        var site = Settled(gate, "held").Site;
        var dismounted = _clock.GetUtcNow();
        // Asked for out of dismount order (as tapes recovering after a restart may ask): C, A, D, B by arrival.
        var tapes = new[] { ("C00001", 3), ("A00001", 1), ("D00001", 4), ("B00001", 2) }
            .Select(t => (Volser: t.Item1, Probe: CreateTestProbe(), DueSince: dismounted.AddMinutes(t.Item2))).ToList();
        foreach (var tape in tapes)
            gate.Tell(new RequestTransferSlot(Dr, Pool1, Volser.Parse(tape.Volser), tape.DueSince, 1), tape.Probe);
        AwaitAssert(() => Assert.Equal(4, License(gate).Held), Step);

        Assert.True(gate.Ask<LicenseInstallAnswer>(new InstallLicense(LicenseIssuer.ForAYear(site)), Step).Result.Installed);
        var released = new List<string>();
        for (var i = 0; i < tapes.Count; i++)
        {
            // One slot: exactly one tape is granted at a time, and the next only once it gives the slot back.
            var granted = tapes.Where(t => !released.Contains(t.Volser)).ToList();
            var next = AwaitGranted(granted);
            released.Add(next.Volser);
            gate.Tell(new ReleaseTransferSlot(Dr), next.Probe);
        }
        Assert.Equal(["A00001", "B00001", "C00001", "D00001"], released);
    }

    /// <summary>The one of <paramref name="waiting"/> that is granted the slot next.</summary>
    private (string Volser, Akka.TestKit.TestProbe Probe, DateTimeOffset DueSince) AwaitGranted(
        List<(string Volser, Akka.TestKit.TestProbe Probe, DateTimeOffset DueSince)> waiting)
    {
        var granted = new List<(string Volser, Akka.TestKit.TestProbe Probe, DateTimeOffset DueSince)>();
        AwaitAssert(() =>
        {
            foreach (var tape in waiting)
                while (tape.Probe.HasMessages)
                    if (tape.Probe.ReceiveOne(TimeSpan.Zero) is TransferSlotGranted)
                        granted.Add(tape);
            Assert.NotEmpty(granted);
        }, Step);
        return Assert.Single(granted);
    }
}
