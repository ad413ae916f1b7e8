using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>How a large tape is cut into chunks sent over several connections at once: every byte exactly once, boundaries the receiver can
/// write with O_DIRECT, and only where the round trip is what limits one connection.</summary>
public sealed class StripesTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(64L << 20)]
    [InlineData((256L << 20) + 12_345)]
    [InlineData((2L << 30) - 1)]
    [InlineData(5L << 20)]
    public void Chunks_cover_the_tape_once_in_order_on_whole_MiB(long length)
    {
        var chunks = Stripes.Chunks(length);
        var next = 0L;
        foreach (var (offset, size) in chunks)
        {
            Assert.Equal(next, offset);
            Assert.Equal(0, offset % (1 << 20));
            Assert.InRange(size, length == 0 ? 0 : 1, Stripes.ChunkLength);
            next = offset + size;
        }
        Assert.Equal(length, next);
    }

    [Fact]
    public void A_near_target_gets_one_connection_a_far_one_several_for_a_large_tape_only()
    {
        Assert.Equal(1, Stripes.Count(2L << 30, TimeSpan.FromMilliseconds(0.3)));
        Assert.Equal(Stripes.MaxCount, Stripes.Count(2L << 30, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(2, Stripes.Count(64L << 20, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(1, Stripes.Count(40L << 20, TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public void What_a_resume_left_is_sent_in_pieces_of_at_most_a_chunk_with_neighbours_joined()
    {
        const long unit = Stripes.ResumeUnit, chunk = Stripes.ChunkLength;
        var left = Stripes.ToSend([(5 * unit, unit), (6 * unit, unit), (7 * unit, unit), (20 * unit, unit), (24 * unit, 20 * unit + 7)]);
        Assert.Equal([(5 * unit, 3 * unit), (20 * unit, unit), (24 * unit, chunk), (24 * unit + chunk, chunk), (24 * unit + 2 * chunk, 20 * unit + 7 - 2 * chunk)], left);
        Assert.Empty(Stripes.ToSend([]));
    }
}
