using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>The watch that ends an attempt whose bytes stopped moving (a link gone dark, a target that stopped reading).</summary>
public sealed class StallWatchTests
{
    [Fact]
    public async Task When_nothing_moved_for_the_limit_the_attempt_is_cancelled_and_its_connections_closed()
    {
        var severed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var watch = new StallWatch(TimeSpan.FromMilliseconds(300), CancellationToken.None, () => severed.TrySetResult());

        await severed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(watch.Stalled);
        Assert.True(watch.Token.IsCancellationRequested);
    }

    /// <summary>The stall is called on a timer's thread: a cancellation callback that throws there (a step's own) must
    /// neither keep the connections open nor end the process (an exception on a timer's thread does, the test host's
    /// too, so this test failing shows as a crashed run).</summary>
    [Fact]
    public async Task A_cancellation_callback_that_throws_neither_keeps_the_connections_open_nor_ends_the_process()
    {
        var severed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Long enough that the callback is registered before the stall, however busy the machine.
        using var watch = new StallWatch(TimeSpan.FromSeconds(2), CancellationToken.None, () => severed.TrySetResult());
        using var failing = watch.Token.Register(() => throw new InvalidOperationException("a step's callback failed"));

        await severed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(watch.Token.IsCancellationRequested);
    }
}
