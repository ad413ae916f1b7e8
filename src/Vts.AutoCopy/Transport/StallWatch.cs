using System.Diagnostics;

namespace Vts.AutoCopy.Transport;

/// <summary>
/// Ends an attempt whose bytes stopped moving. Over a WAN link that goes dark (or a peer that stops reading: a zero
/// window), SSH.NET's send blocks in the socket with no timeout of its own, and the kernel gives up on the
/// connection only after many minutes of retransmissions: the attempt would hold its transfer slot all that time.
/// The watch cancels <see cref="Token"/> and runs its stall action (which closes the connections, waking the blocked
/// send) once nothing moved for <see cref="Limit"/>.
/// </summary>
internal sealed class StallWatch : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly Action _onStall;
    private readonly Timer _timer;
    private long _lastMove = Stopwatch.GetTimestamp();
    private long _bytes;
    private int _stalled;
    private int _settingUp;

    public StallWatch(TimeSpan limit, CancellationToken cancellation, Action onStall)
    {
        Limit = limit;
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        _onStall = onStall;
        var every = TimeSpan.FromTicks(Math.Max(limit.Ticks / 4, TimeSpan.FromMilliseconds(250).Ticks));
        _timer = new Timer(_ => Check(), null, every, every);
    }

    public TimeSpan Limit { get; }

    /// <summary>Cancelled when the caller's token is, or when the transfer stalled.</summary>
    public CancellationToken Token => _cancel.Token;

    public bool Stalled => Volatile.Read(ref _stalled) == 1;

    /// <summary>Bytes taken from the source so far.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Bytes were taken from the source (or a step ended): the transfer is moving.</summary>
    public void Moved(long bytes = 0)
    {
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Exchange(ref _lastMove, Stopwatch.GetTimestamp());
    }

    /// <summary>A step that moves no tape bytes and has a timeout of its own (a connection opened, the receiver
    /// started): no stall is called while one runs, and the watch's clock starts again when it ends.</summary>
    public IDisposable SettingUp()
    {
        Interlocked.Increment(ref _settingUp);
        return new Step(this);
    }

    private sealed class Step(StallWatch watch) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 1) return;
            watch.Moved();
            Interlocked.Decrement(ref watch._settingUp);
        }
    }

    private void Check()
    {
        if (Volatile.Read(ref _settingUp) > 0) return;
        if (Stalled || Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastMove)) < Limit) return;
        if (Interlocked.Exchange(ref _stalled, 1) == 1) return;
        // On the timer's thread, where an exception would end the whole node. An attempt that ended meanwhile has
        // disposed of the token source: nothing is left to stop. What a cancellation callback threw is dropped: its step
        // sees its token cancelled all the same, and the connections are closed below.
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        catch (AggregateException)
        {
        }
        _onStall();
    }

    public void Dispose()
    {
        _timer.Dispose();
        _cancel.Dispose();
    }
}
