using System.Collections.Immutable;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.Cluster;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Serialization;
using Xunit;

namespace Vts.AutoCopy.Tests.Serialization;

public sealed class VtsSerializerTests() : TestKit(Vts.AutoCopy.Tests.CopyEngine.EngineHarness.TestConfig)
{
    private static readonly DateTimeOffset T = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    public static TheoryData<object> Persisted => new()
    {
        new MountRecorded("e-1", MountMode.NoRing, T),
        new DismountRecorded("e-2", false, T),
        new MountWithdrawn("e-3", "cancelled", T),
        new AttemptStarted(3, T),
        new AttemptFailed(3, "connection refused", T.AddMinutes(5), T),
        new AttemptFailed(12, "connection refused", null, T),
        new AttemptCancelled(2, "tape mounted during transfer", T),
        new CopyCompleted(1, 123456789, new string('f', 64), TimeSpan.FromSeconds(3.5), T),
        new CopyFailed(12, "host key changed", T),
        new RetryRequested(T),
        new CopyRequested("missing at dr:DRPOOL1", T),
        new FailureReported(T),
        new TapeActivated("A00001"),
        new TapeSettledDown("A00001"),
        new EventLogEntry(T, Severity.Error, MessageIds.CopyFailed, "n1", "POOL1", "A00001", "failed"),
        new EventLogEntry(T, Severity.Error, MessageIds.CopyFailed, "n1", "POOL1", "A00001", "failed", "tape-POOL1-A00001/failed/1"),
        new ThrottleChanged("dr", new ThrottleOverride(12_500_000, T.AddHours(2), T)),
        new ThrottleChanged("dr", new ThrottleOverride(null, null, T)),
        new ThrottleChanged("dr", null),
        new Vts.AutoCopy.Reconcile.ReconcileStarted("r-1", Vts.AutoCopy.Reconcile.ReconcileTrigger.Audit, false, true, T),
        new Vts.AutoCopy.Reconcile.ReconcileEnded("r-1", Vts.AutoCopy.Reconcile.ReconcileOutcome.Cancelled, "cancelled after 3 of 9", T),
    };

    [Theory]
    [MemberData(nameof(Persisted))]
    public void Every_persisted_type_goes_through_our_serializer_and_back_unchanged(object value)
    {
        var serializer = Sys.Serialization.FindSerializerFor(value);
        Assert.IsType<VtsSerializer>(serializer);
        var manifest = Assert.IsAssignableFrom<SerializerWithStringManifest>(serializer).Manifest(value);
        Assert.DoesNotContain("Vts.", manifest); // manifests never name CLR types
        var again = ((SerializerWithStringManifest)serializer).FromBinary(serializer.ToBinary(value), manifest);
        Assert.Equal(value, again);
    }

    [Fact]
    public void Snapshots_round_trip_with_their_collections()
    {
        var state = TapeCopyState.Initial.Apply(new MountRecorded("e-1", MountMode.Ring, T)).Apply(new DismountRecorded("e-2", true, T));
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(state);
        var back = (TapeCopyState)serializer.FromBinary(serializer.ToBinary(state), serializer.Manifest(state));
        Assert.Equal((state.Phase, state.DueSince, state.Mounted), (back.Phase, back.DueSince, back.Mounted));
        Assert.Equal(state.RecentEventIds, back.RecentEventIds);

        var pool = new PoolSnapshot(["A1", "B2"]);
        var poolBack = (PoolSnapshot)serializer.FromBinary(serializer.ToBinary(pool), serializer.Manifest(pool));
        Assert.Equal(pool.ActiveVolsers, poolBack.ActiveVolsers);
    }

    [Fact]
    public void A_reconcile_slice_its_snapshot_and_its_answer_round_trip_with_their_lists()
    {
        var findings = new Vts.AutoCopy.Reconcile.ReconcileFindings(["M00001"], ["S00001"], ["C00001"], ["X00001"], 3,
            [new Vts.AutoCopy.Reconcile.NotMade("N00001", "mounted: its dismount decides")]);
        var slice = new Vts.AutoCopy.Reconcile.ReconcileChecked("r-1", "X00001", 500, 1000, 990, 985, findings);
        var run = Vts.AutoCopy.Reconcile.ReconcileRun.From(new("r-1", Vts.AutoCopy.Reconcile.ReconcileTrigger.Operator, false, true, T)).With(slice);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(slice);

        var sliceBack = (Vts.AutoCopy.Reconcile.ReconcileChecked)serializer.FromBinary(serializer.ToBinary(slice), serializer.Manifest(slice));
        var runBack = Vts.AutoCopy.Reconcile.ReconcileRun.From(new("r-1", Vts.AutoCopy.Reconcile.ReconcileTrigger.Operator, false, true, T)).With(sliceBack);
        Assert.Equal((run.Through, run.Checked, run.Total, run.Drift, run.Made), (runBack.Through, runBack.Checked, runBack.Total, runBack.Drift, runBack.Made));
        Assert.Equal(findings.NotMade, sliceBack.Findings.NotMade);

        var snapshot = new Vts.AutoCopy.Reconcile.ReconcileSnapshot(run, null);
        var snapshotBack = (Vts.AutoCopy.Reconcile.ReconcileSnapshot)serializer.FromBinary(serializer.ToBinary(snapshot), serializer.Manifest(snapshot));
        Assert.Equal(run.Missing, snapshotBack.Last!.Missing);
        Assert.Equal(run.ContentDiffers, snapshotBack.Last.ContentDiffers);
        Assert.Null(snapshotBack.LastAudit);

        var answer = new Vts.AutoCopy.Reconcile.ReconcileAnswer(PoolName.Parse("POOL1"), true, "started", run);
        var answerBack = (Vts.AutoCopy.Reconcile.ReconcileAnswer)serializer.FromBinary(serializer.ToBinary(answer), serializer.Manifest(answer));
        Assert.Equal((answer.Pool, run.OnlyAtTarget.Single(), run.NotMade.Single()), (answerBack.Pool, answerBack.Run!.OnlyAtTarget.Single(), answerBack.Run.NotMade.Single()));
    }

    [Fact]
    public void An_unknown_manifest_is_an_error_not_a_guess()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(TapeActivated));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "tape.unknown.v9"));
    }

    [Fact]
    public void Every_message_that_can_cross_nodes_has_a_manifest_of_ours()
    {
        var types = typeof(IClusterMessage).Assembly.GetTypes()
            .Where(t => typeof(IClusterMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false }).ToList();
        Assert.NotEmpty(types);
        foreach (var type in types)
        {
            var serializer = Assert.IsType<VtsSerializer>(Sys.Serialization.FindSerializerForType(type));
            var manifest = serializer.Manifest(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type));
            Assert.DoesNotContain("Vts.", manifest);
        }
    }

    public static TheoryData<object> BetweenNodes => new()
    {
        new RecordMount(PoolName.Parse("POOL1"), Volser.Parse("A00001"), "e-1", MountMode.Ring, T),
        new RecordDismount(PoolName.Parse("POOL1"), Volser.Parse("A00001"), "e-2", T),
        new RecordMountWithdrawn(PoolName.Parse("POOL1"), Volser.Parse("A00001"), "e-3", "rejected", T),
        new RequestTransferSlot(TargetName.Parse("dr"), PoolName.Parse("POOL1"), Volser.Parse("A00001"), T, 3),
        new HoldingTransferSlot(TargetName.Parse("dr"), PoolName.Parse("POOL1"), Volser.Parse("A00001")),
        new TransferShare(TargetName.Parse("dr"), 12_500_000),
        new TransferProgress(TargetName.Parse("dr"), PoolName.Parse("POOL1"), Volser.Parse("A00001"), 300, 200, 1000, 50),
        new ThrottleTarget(TargetName.Parse("dr"), 12_500_000, TimeSpan.FromHours(2), false),
        new TapeStatus(PoolName.Parse("POOL1"), Volser.Parse("A00001"), TapeCopyState.Initial, true,
            new Vts.AutoCopy.Transport.MeterReading(300, 200, 1000, 50, 12_500_000)),
        new SharedSettings("node-1", new Dictionary<string, string> { ["vts.autocopy.pools.POOL1.target"] = "dr" }),
    };

    [Theory]
    [MemberData(nameof(BetweenNodes))]
    public void Messages_between_nodes_carry_domain_names_as_text_and_arrive_unchanged(object value)
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(value);
        var bytes = serializer.ToBinary(value);
        Assert.DoesNotContain("\"value\"", System.Text.Encoding.UTF8.GetString(bytes)); // a PoolName is "POOL1", not an object
        var again = serializer.FromBinary(bytes, serializer.Manifest(value));
        if (value is SharedSettings shared) Assert.Equal(shared.Settings, ((SharedSettings)again).Settings);
        else if (value is TapeStatus status) Assert.Equal(status.Transfer, ((TapeStatus)again).Transfer);
        else Assert.Equal(value, again);
    }

    [Fact]
    public void A_domain_name_that_arrives_invalid_is_refused_as_when_it_comes_from_EMS()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(RecordDismount));
        var hostile = """{"pool":"POOL1","volser":"../../etc","eventId":"e-1","at":"2026-11-24T10:00:00+00:00"}"""u8.ToArray();
        Assert.Throws<System.Text.Json.JsonException>(() => serializer.FromBinary(hostile, "msg.dismount.v1"));
    }

    /// <summary>Akka.Remote's default maximum-frame-size: a page of tapes with ASCII errors stays under it, as it did
    /// before the node's frame was raised (<see cref="Vts.AutoCopy.Hosting.NodeConfig.MaximumFrameBytes"/>).</summary>
    private const int RemoteFrame = 128_000;

    [Fact]
    public void A_pool_summary_and_a_full_page_of_tapes_round_trip_and_fit_in_one_remote_frame_however_many_tapes_are_owed()
    {
        // As large as a tape's listed state gets: every field set, an error longer than is ever listed, of characters
        // the JSON writer escapes to six bytes each.
        var worst = TapeCopyState.Initial.Apply(new MountRecorded("e-1", MountMode.Ring, T)) with
        {
            Phase = CopyPhase.WaitingToRetry, Attempts = 11, DueSince = T, NextAttemptAt = T.AddMinutes(5), DueAgain = true,
            LastError = new string('\'', 2000) + new string('é', 2000), LastCopy = new LastCopy(long.MaxValue, new string('f', 64), TimeSpan.FromHours(1), T),
            RecentEventIds = Enumerable.Range(0, TapeCopyState.RememberedEventIds).Select(i => $"event-{i:D40}").ToImmutableList(),
        };
        var tapes = Enumerable.Range(0, GetPoolTapes.PageSize).Select(i => new BusyTape($"V{i:D5}", worst.ForList())).ToList();
        var page = new PoolTapes(PoolName.Parse("POOL1"), tapes, More: true);
        var summary = new PoolSummary(PoolName.Parse("POOL1"), "vts-src-1",
            new Dictionary<CopyPhase, int> { [CopyPhase.Due] = 100_000, [CopyPhase.WaitingToRetry] = 3 }, 7,
            tapes.Take(PoolSummary.OldestOwedShown).ToList(), T);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(page);

        var typical = new PoolTapes(page.Pool, tapes.Select(t => t with { State = t.State with { LastError = new string('x', 240) } }).ToList(), true);
        Assert.InRange(serializer.ToBinary(typical).Length, 1, RemoteFrame);
        var pageBytes = serializer.ToBinary(page);
        var summaryBytes = serializer.ToBinary(summary);
        Assert.InRange(pageBytes.Length, 1, Vts.AutoCopy.Hosting.NodeConfig.MaximumFrameBytes / 2);
        Assert.InRange(summaryBytes.Length, 1, Vts.AutoCopy.Hosting.NodeConfig.MaximumFrameBytes / 4); // room for the reconcile briefs
        var pageBack = (PoolTapes)serializer.FromBinary(pageBytes, serializer.Manifest(page));
        Assert.Equal(tapes.Select(t => t.Volser), pageBack.Tapes.Select(t => t.Volser));
        Assert.Equal(TapeCopyState.ListedErrorLength, pageBack.Tapes[0].State.LastError!.Length);
        var summaryBack = (PoolSummary)serializer.FromBinary(summaryBytes, serializer.Manifest(summary));
        Assert.Equal((100_000, 3, 100_003, 7), (summaryBack.Count(CopyPhase.Due), summaryBack.Count(CopyPhase.WaitingToRetry),
            summaryBack.Owed, summaryBack.Mounted));
        Assert.Equal(T, summaryBack.OldestDueSince);
    }

    [Fact]
    public void The_transfer_gates_status_with_an_hour_of_samples_for_every_target_fits_in_one_remote_frame()
    {
        var samples = Enumerable.Range(0, (int)(TimeSpan.FromHours(1) / TransferGate.SampleEvery))
            .Select(i => new TargetSample(T.AddSeconds(15 * i).AddTicks(1234567), 1_234_567_890_123, 64, 123_456)).ToList();
        var running = Enumerable.Range(0, 16).Select(i => new RunningTransfer(PoolName.Parse($"POOL{i}"), Volser.Parse($"V{i:D5}"),
            long.MaxValue / 2, long.MaxValue, 1_234_567_890, 1_234_567_890)).ToList();
        var targets = Enumerable.Range(0, 16).Select(i => new TargetQueueStatus(TargetName.Parse($"dr-site-{i:D2}"), 16, 123_456, T,
            1_000_000_000, "schedule: Mon-Fri 08:00-18:00", 1_234_567_890, running, samples)).ToList();
        var status = new GateStatus(targets, 16, "held for want of a license (R12): no license key installed");
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(status);
        var bytes = serializer.ToBinary(status);
        Assert.InRange(bytes.Length, 1, Vts.AutoCopy.Hosting.NodeConfig.MaximumFrameBytes);
        var back = (GateStatus)serializer.FromBinary(bytes, serializer.Manifest(status));
        Assert.Equal(samples.Count, back.Targets[15].History.Count);
    }

    /// <summary>The pool summary as the build before this one had it: it listed every busy tape.</summary>
    private sealed record EarlierPoolSummary(PoolName Pool, string Node, IReadOnlyDictionary<string, TapeCopyState> BusyTapes,
        Vts.AutoCopy.Reconcile.ReconcileRun? Reconcile = null, Vts.AutoCopy.Reconcile.ReconcileRun? LastAudit = null);

    [Fact]
    public void Nodes_of_this_build_and_the_one_before_read_each_others_pool_summary_so_both_start_in_a_rolling_upgrade()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new GetPoolSummary(PoolName.Parse("POOL1")));
        var pool = PoolName.Parse("POOL1");
        var due = TapeCopyState.Initial.Apply(new DismountRecorded("e-1", false, T));

        // The earlier build's answer (the same manifest; it serialized with these options) read here: nothing busy.
        var earlier = new EarlierPoolSummary(pool, "old-node", new Dictionary<string, TapeCopyState> { ["A00001"] = due });
        var read = (PoolSummary)serializer.FromBinary(JsonSerializer.SerializeToUtf8Bytes(earlier, VtsSerializer.Json), "msg.pool-summary.v1");
        Assert.Equal((pool, "old-node", 0, 0), (read.Pool, read.Node, read.Busy.Count, read.OldestOwed.Count));

        // This build's answer read by the earlier build: it parses (so a node of that build starts), with no list of
        // busy tapes, which that build's views then fail on.
        var summary = new PoolSummary(pool, "new-node", new Dictionary<CopyPhase, int> { [CopyPhase.Due] = 1 }, 0,
            [new BusyTape("A00001", due.ForList())], T);
        Assert.Equal("msg.pool-summary.v1", serializer.Manifest(summary));
        var readThere = JsonSerializer.Deserialize<EarlierPoolSummary>(serializer.ToBinary(summary), VtsSerializer.Json)!;
        Assert.Equal((pool, "new-node"), (readThere.Pool, readThere.Node));
        Assert.Null(readThere.BusyTapes);
    }
}
