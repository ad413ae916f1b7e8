using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>The copy state machine as pure functions, no actors.</summary>
public sealed class TapeCopyStateTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private static readonly RetrySettings Retry = new(TimeSpan.FromMinutes(5), 12);

    private static TapeCopyState Run(params ITapeEvent[] events) => events.Aggregate(TapeCopyState.Initial, (s, e) => s.Apply(e));

    [Fact]
    public void A_copy_a_reconcile_made_due_is_in_the_background_lane_until_a_dismount_makes_it_a_dismount_copy()
    {
        var requested = Run(new CopyRequested("missing at dr:DRPOOL1", T));
        Assert.Equal((CopyPhase.Due, T, true), (requested.Phase, requested.DueSince!.Value, requested.Background));
        var written = requested.Apply(new MountRecorded("m", MountMode.Ring, T.AddMinutes(1))).Apply(new DismountRecorded("d", true, T.AddMinutes(2)));
        Assert.Equal((CopyPhase.Due, false), (written.Phase, written.Background));
        var readOnly = requested.Apply(new MountRecorded("m", MountMode.NoRing, T.AddMinutes(1))).Apply(new DismountRecorded("d", true, T.AddMinutes(2)));
        Assert.True(readOnly.Background); // a No Ring mount changed nothing: still the reconcile's copy
        Assert.False(requested.Apply(new AttemptStarted(1, T)).Apply(new CopyCompleted(1, 10, new string('a', 64), TimeSpan.FromSeconds(1), T)).Background);
    }

    [Fact]
    public void R6_A_dismount_while_due_keeps_the_tape_its_place_in_the_queue()
    {
        var state = Run(new DismountRecorded("1", false, T), new MountRecorded("2", MountMode.Ring, T.AddMinutes(1)),
            new DismountRecorded("3", true, T.AddMinutes(2)));
        Assert.Equal((CopyPhase.Due, T), (state.Phase, state.DueSince!.Value));
    }

    [Fact]
    public void R7_The_twelfth_failure_ends_the_series_and_no_earlier_one_does()
    {
        var state = Run(new DismountRecorded("1", false, T), new AttemptStarted(11, T));
        Assert.Single(state.DecideTransferOutcome(new TransferOutcome.Failed("x"), Retry, T));
        state = state.Apply(new AttemptStarted(12, T));
        var last = state.DecideTransferOutcome(new TransferOutcome.Failed("x"), Retry, T);
        Assert.Collection(last, e => Assert.Null(Assert.IsType<AttemptFailed>(e).NextAttemptAt), e => Assert.IsType<CopyFailed>(e));
    }

    [Fact]
    public void R2_A_noring_dismount_leaves_a_pending_retry_as_it_was()
    {
        var state = Run(new DismountRecorded("1", false, T), new AttemptStarted(1, T),
            new AttemptFailed(1, "x", T.AddMinutes(5), T), new MountRecorded("2", MountMode.NoRing, T), new DismountRecorded("3", true, T));
        Assert.Equal((CopyPhase.WaitingToRetry, 1, T.AddMinutes(5)), (state.Phase, state.Attempts, state.NextAttemptAt!.Value));
        Assert.False(state.MayStartAttempt(T));
        Assert.True(state.MayStartAttempt(T.AddMinutes(5)));
    }

    [Fact]
    public void Only_the_last_32_event_ids_are_remembered()
    {
        var state = Enumerable.Range(0, 40).Aggregate(TapeCopyState.Initial,
            (s, i) => s.Apply(new MountRecorded($"e-{i}", MountMode.NoRing, T)));
        Assert.Equal(TapeCopyState.RememberedEventIds, state.RecentEventIds.Count);
        Assert.False(state.HasSeen("e-7"));
        Assert.True(state.HasSeen("e-39"));
    }
}
