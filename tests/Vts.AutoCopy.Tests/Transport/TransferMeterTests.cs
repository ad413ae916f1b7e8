using Microsoft.Extensions.Time.Testing;
using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>A transfer's pace (its share of the target's bandwidth limit) and its progress, on a clock the test turns.</summary>
public sealed class TransferMeterTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Sends <paramref name="chunk"/>-byte reads for <paramref name="duration"/> of fake time, turning the clock
    /// only while a read waits; the bytes the meter let through.</summary>
    private long SendFor(TransferMeter meter, TimeSpan duration, int chunk = 10_000)
    {
        var end = _clock.GetUtcNow() + duration;
        long sent = 0;
        while (true)
        {
            var pacing = meter.Pace(chunk, CancellationToken.None);
            while (!pacing.IsCompleted)
            {
                if (_clock.GetUtcNow() >= end) return sent;
                _clock.Advance(TimeSpan.FromMilliseconds(1));
            }
            sent += chunk;
            if (_clock.GetUtcNow() >= end) return sent;
        }
    }

    [Fact]
    public void Unlimited_never_waits_and_still_counts()
    {
        var meter = new TransferMeter(null, _clock);
        for (var i = 0; i < 1000; i++) Assert.True(meter.Pace(1 << 20, CancellationToken.None).IsCompleted);
        Assert.Equal(1000L << 20, meter.Sent);
        Assert.Equal(1 << 20, meter.ReadSize(1 << 20));
    }

    [Fact]
    public void A_share_holds_the_bytes_to_its_rate_with_no_more_than_a_tenth_of_a_second_ahead()
    {
        var meter = new TransferMeter(1_000_000, _clock);
        var sent = SendFor(meter, TimeSpan.FromSeconds(10));
        // 10 s at 1 MB/s, plus at most the 100 ms burst and one read in flight.
        Assert.InRange(sent, 9_900_000, 10_110_000);
    }

    [Fact]
    public void A_read_waits_for_its_bytes_to_be_paid_for()
    {
        var meter = new TransferMeter(1_000_000, _clock);
        Assert.True(meter.Pace(100_000, CancellationToken.None).IsCompleted); // the burst
        var second = meter.Pace(100_000, CancellationToken.None);
        Assert.False(second.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(second.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(second.IsCompleted);
    }

    [Fact]
    public void A_new_share_takes_effect_for_the_next_reads()
    {
        var meter = new TransferMeter(1_000_000, _clock);
        var slow = SendFor(meter, TimeSpan.FromSeconds(2));
        meter.Share = 4_000_000;
        var fast = SendFor(meter, TimeSpan.FromSeconds(2));
        Assert.InRange(slow, 1_900_000, 2_110_000);
        Assert.InRange(fast, 7_800_000, 8_110_000);
        meter.Share = null;
        Assert.True(meter.Pace(50_000_000, CancellationToken.None).IsCompleted);
    }

    [Fact]
    public void Reads_are_cut_to_an_eighth_of_a_second_at_the_share_so_a_slow_share_still_moves()
    {
        var meter = new TransferMeter(1_000_000, _clock);
        Assert.Equal(125_000, meter.ReadSize(1 << 20));
        Assert.Equal(1000, meter.ReadSize(1000));
        meter.Share = 125_000;
        Assert.Equal(15_625, meter.ReadSize(1 << 20));
    }

    [Fact]
    public async Task A_waiting_read_ends_when_the_attempt_is_cancelled()
    {
        var meter = new TransferMeter(1_000_000, _clock);
        using var cancellation = new CancellationTokenSource();
        _ = meter.Pace(100_000, cancellation.Token);
        var waiting = meter.Pace(1_000_000, cancellation.Token).AsTask();
        cancellation.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Progress_counts_resumed_bytes_as_done_and_the_rate_from_bytes_sent()
    {
        var meter = new TransferMeter(null, _clock);
        meter.Starting(10_000_000);
        meter.Resumed(4_000_000);
        meter.Tick();
        _ = meter.Pace(2_000_000, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(2));
        var reading = meter.Tick();
        Assert.Equal(new MeterReading(6_000_000, 2_000_000, 10_000_000, 1_000_000, null), reading);
        Assert.Equal(TimeSpan.FromSeconds(4), reading.TimeLeft);
    }

    [Fact]
    public void Reads_through_the_hashing_stream_are_cut_paced_and_counted()
    {
        var meter = new TransferMeter(1_000_000, _clock);
        var bytes = new byte[300_000];
        using var stream = new HashingReadStream(new MemoryStream(bytes), meter: meter);
        var buffer = new byte[1 << 20];
        Assert.Equal(125_000, stream.Read(buffer, 0, buffer.Length)); // within the burst: no wait
        var next = stream.ReadAsync(buffer, 0, buffer.Length);
        Assert.False(next.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(150));
        Assert.True(next.IsCompleted);
        Assert.Equal(125_000, next.Result);
        Assert.Equal(250_000, meter.Sent);
    }
}
