namespace Vts.AutoCopy.Transport;

/// <summary>What one attempt has moved, as its owner reads it: bytes done (sent or resumed at the target) of the tape's
/// total, the rate of the bytes sent, and the share of the target's bandwidth it may use (null: unlimited).</summary>
public sealed record MeterReading(long Done, long Sent, long Total, long BytesPerSecond, long? Share)
{
    /// <summary>At the current rate; null while nothing moves.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan? TimeLeft => BytesPerSecond > 0 ? TimeSpan.FromSeconds((double)(Total - Done) / BytesPerSecond) : null;
}

/// <summary>The bytes of one attempt: paced to the share of its target's bandwidth limit that the transfer gate gives it,
/// and counted for its progress. Every connection of the attempt reads through it, so the share holds for all of them
/// together.
/// <para>System.Threading.RateLimiting's token bucket fixes its rate when it is built and refills on a timer of its own;
/// a share changes while the transfer runs (another transfer starts or ends, the schedule turns, an operator throttles),
/// so the pace is kept here: each read books its bytes on a clock that runs at the share, and waits until that clock
/// is no longer ahead of real time.</para></summary>
/// <param name="share">bytes per second at first; null is unlimited.</param>
public sealed class TransferMeter(long? share = null, TimeProvider? clock = null)
{
    /// <summary>Time a paused transfer (a round trip, a chunk's proof) may make up at once: a little burst, never a flood.</summary>
    private static readonly TimeSpan Burst = TimeSpan.FromMilliseconds(100);

    /// <summary>How strongly the rate shown follows the latest interval (an exponential average over a few ticks).</summary>
    private const double RateWeight = 0.5;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _pace = new();
    /// <summary>Bytes per second; 0 is unlimited.</summary>
    private long _share = share is > 0 ? share.Value : 0;
    /// <summary>The timestamp at which the bytes booked so far have been paid for.</summary>
    private long _paidUntil;
    private long _sent;
    private long _resumed;
    private long _total;
    private (long At, long Sent)? _lastTick;
    private double _rate;

    /// <summary>Bytes per second this attempt may use; null is unlimited. Set by the tape actor whenever the gate says.</summary>
    public long? Share
    {
        get => Interlocked.Read(ref _share) is var s and > 0 ? s : null;
        set => Interlocked.Exchange(ref _share, value is > 0 ? value.Value : 0);
    }

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Set by the transport once it knows the tape's size.</summary>
    public void Starting(long total) => Interlocked.Exchange(ref _total, total);

    /// <summary>Bytes the target already held (R17): done, never sent.</summary>
    public void Resumed(long bytes) => Interlocked.Add(ref _resumed, bytes);

    /// <summary>How much one read should ask for: at most an eighth of a second at the share, so that a slow share still
    /// moves bytes every few reads (the stall watch sees them) and a lower share takes effect quickly.</summary>
    public int ReadSize(int wanted) =>
        Interlocked.Read(ref _share) is var share and > 0 ? (int)Math.Clamp(share / 8, Math.Min(4096, wanted), wanted) : wanted;

    /// <summary>Counts <paramref name="bytes"/> read for sending and waits until the share has paid for them.</summary>
    public async ValueTask Pace(int bytes, CancellationToken cancellation)
    {
        if (Book(bytes) is { } wait && wait > TimeSpan.Zero) await Task.Delay(wait, _clock, cancellation);
    }

    /// <summary><see cref="Pace"/> for a caller that reads synchronously.</summary>
    public void PaceBlocking(int bytes)
    {
        if (Book(bytes) is { } wait && wait > TimeSpan.Zero) Thread.Sleep(wait);
    }

    private TimeSpan Book(int bytes)
    {
        Interlocked.Add(ref _sent, bytes);
        var share = Interlocked.Read(ref _share);
        if (share == 0 || bytes <= 0) return TimeSpan.Zero;
        var frequency = _clock.TimestampFrequency;
        lock (_pace)
        {
            var now = _clock.GetTimestamp();
            _paidUntil = Math.Max(_paidUntil, now - (long)(Burst.TotalSeconds * frequency)) + (long)((double)bytes * frequency / share);
            return _paidUntil > now ? TimeSpan.FromSeconds((double)(_paidUntil - now) / frequency) : TimeSpan.Zero;
        }
    }

    /// <summary>Takes a reading and updates the rate from the bytes sent since the last one; called by the meter's owner
    /// every few seconds (one caller).</summary>
    public MeterReading Tick()
    {
        var (now, sent) = (_clock.GetTimestamp(), Sent);
        if (_lastTick is var (at, before) && now > at)
        {
            var latest = (sent - before) * (double)_clock.TimestampFrequency / (now - at);
            _rate = _rate == 0 ? latest : RateWeight * latest + (1 - RateWeight) * _rate;
        }
        _lastTick = (now, sent);
        return Reading;
    }

    /// <summary>The counts now, with the rate of the last <see cref="Tick"/>.</summary>
    public MeterReading Reading
    {
        get
        {
            var sent = Sent;
            return new MeterReading(sent + Interlocked.Read(ref _resumed), sent, Interlocked.Read(ref _total), (long)_rate, Share);
        }
    }
}
