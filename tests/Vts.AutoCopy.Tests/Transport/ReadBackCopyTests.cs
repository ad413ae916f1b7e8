using Vts.AutoCopy.Transport;
using Vts.AutoCopy.Transport.ReadBack;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>R10 sftp-only targets: how a large tape's read-back copy is spread over connections and blocks.</summary>
public sealed class ReadBackCopyTests
{
    private const long Tape = 256L << 20;

    [Fact]
    public void A_near_target_gets_one_connection_and_a_far_one_one_per_25_ms_of_round_trip_up_to_the_chunk_paths_count()
    {
        Assert.Equal(1, ReadBackCopy.Connections(Tape, TimeSpan.Zero));
        Assert.Equal(1, ReadBackCopy.Connections(Tape, TimeSpan.FromMilliseconds(4)));
        Assert.Equal(1, ReadBackCopy.Connections(Tape, TimeSpan.FromMilliseconds(10)));
        Assert.Equal(2, ReadBackCopy.Connections(Tape, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(2, ReadBackCopy.Connections(Tape, TimeSpan.FromMilliseconds(52))); // a round trip measured a little long
        Assert.Equal(Stripes.MaxCount, ReadBackCopy.Connections(Tape, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(Stripes.MaxCount, ReadBackCopy.Connections(Tape, TimeSpan.FromMilliseconds(300)));
        Assert.Equal(2, ReadBackCopy.Connections(64L << 20, TimeSpan.FromMilliseconds(100))); // as many as its chunks
    }

    [Fact]
    public void Write_and_read_handles_are_asked_for_in_turn_so_that_a_limit_on_open_files_leaves_some_of_each()
    {
        var asked = ReadBackCopy.Interleaved(ReadBackCopy.WritersPerConnection, ReadBackCopy.ReadersPerConnection).ToList();

        Assert.Equal(ReadBackCopy.WritersPerConnection, asked.Count(a => a == FileAccess.Write));
        Assert.Equal(ReadBackCopy.ReadersPerConnection, asked.Count(a => a == FileAccess.Read));
        // Any first 20 asked (a server that opens 20 files) hold writes and reads about 3 to 2.
        Assert.InRange(asked.Take(20).Count(a => a == FileAccess.Read), 7, 9);
        Assert.Equal(Enumerable.Repeat(FileAccess.Read, 32), ReadBackCopy.Interleaved(0, 32));
    }

    [Fact]
    public void Each_connection_keeps_as_many_handles_of_a_kind_as_the_one_that_opened_fewest_the_ith_over_connection_i_mod_n()
    {
        // Connection 0 opened 3 writers, connection 1 only 2; connection 1's readers: none.
        (int, FileAccess, string)[] opened =
        [
            (0, FileAccess.Write, "w0a"), (1, FileAccess.Write, "w1a"), (0, FileAccess.Read, "r0a"), (0, FileAccess.Write, "w0b"),
            (1, FileAccess.Write, "w1b"), (0, FileAccess.Write, "w0c"),
        ];

        Assert.Equal(["w0a", "w1a", "w0b", "w1b"], ReadBackCopy.Spread(opened, FileAccess.Write, 2));
        Assert.Empty(ReadBackCopy.Spread(opened, FileAccess.Read, 2)); // none on connection 1: none at all
        Assert.Equal(["w0a", "w0b"], ReadBackCopy.Spread(opened, FileAccess.Write, 1, spare: 1));
    }

    [Fact]
    public async Task The_tape_is_read_once_into_blocks_that_cover_it_exactly_with_its_SHA256()
    {
        var tape = new byte[(3 * Block.MaxLength) + 4321];
        new Random(7).NextBytes(tape);
        using var blocks = new SentBlocks(new MemoryStream(tape), tape.Length, meter: null, capacity: 2);

        var sent = new List<Block>();
        while (await blocks.Next(CancellationToken.None) is { } block)
        {
            Assert.Equal(tape.AsSpan((int)block.Offset, block.Length).ToArray(), block.Sent.ToArray());
            sent.Add(block with { Bytes = [] });
            blocks.Proven(block); // else the third waits: at most two unproven
        }

        Assert.Equal([0, 1, 2, 3], sent.Select(b => b.Index));
        Assert.All(sent.Zip(sent.Skip(1)), b => Assert.Equal(b.Item1.End, b.Item2.Offset));
        Assert.Equal((0L, (long)tape.Length, 4321), (sent[0].Offset, sent[^1].End, sent[^1].Length));
        Assert.Equal((Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(tape)), (long)tape.Length), (blocks.Sha256, blocks.BytesRead));
        // One request each way: SSH.NET writes up to OpenSSH's 32 KiB packet less 25 bytes and a handle of up to 256 bytes;
        // its reads, at the session's buffer size less 13 bytes, cover a pair.
        Assert.True(Block.MaxLength <= 32 * 1024 - 25 - 256);
        Assert.True(2 * Block.MaxLength <= Pair.ReadLength - 13);
    }

    [Fact]
    public async Task A_source_that_ends_early_ends_the_blocks_and_shows_fewer_bytes_read()
    {
        var tape = new byte[2 * Block.MaxLength];
        using var blocks = new SentBlocks(new MemoryStream(tape, 0, Block.MaxLength + 100), tape.Length, meter: null, capacity: 4);

        Assert.NotNull(await blocks.Next(CancellationToken.None));
        Assert.Null(await blocks.Next(CancellationToken.None)); // the second block is short: not sent
        Assert.Null(await blocks.Next(CancellationToken.None));
        Assert.Equal(Block.MaxLength + 100L, blocks.BytesRead);
    }
}
