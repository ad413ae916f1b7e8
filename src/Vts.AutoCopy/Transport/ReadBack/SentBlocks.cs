using System.Buffers;
using System.Collections;

namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>The tape read once, in order, into blocks: the whole tape hashed on the way (its SHA-256 is journaled), paced
/// to the attempt's share of the target's bandwidth, and never more than <paramref name="capacity"/> blocks ahead of
/// the proof, since each block's bytes are kept until it is proven. Blocks the target already <paramref name="held"/> (an
/// earlier attempt's, R17: <see cref="PartialCheck"/>) are read for the tape's hash only: never given out, counted or
/// paced as sent.</summary>
internal sealed class SentBlocks(Stream source, long length, TransferMeter? meter, int capacity, BitArray? held = null) : IDisposable
{
    // A MiB at a time from the tape: a block at a time would cost a system call and a thread-pool hop per 32 KiB.
    private readonly HashingReadStream _hashing = new(new BufferedStream(source, 1 << 20));
    private readonly SemaphoreSlim _unproven = new(capacity);
    private readonly int _count = Block.Count(length);
    private int _next;

    /// <summary>How many blocks the tape is cut into.</summary>
    public int Count => _count;

    public string Sha256 => _hashing.Sha256Hex();

    /// <summary>Whether <paramref name="block"/> is given out to be sent: not one the target already held.</summary>
    public bool Sends(int block) => held?[block] != true;

    /// <summary>Bytes of the source read: fewer than the tape's length where it ended early (it changed).</summary>
    public long BytesRead => _hashing.BytesRead;

    /// <summary>The next block, once few enough wait for their proof; null after the last, or where the source ended
    /// early. One caller at a time.</summary>
    public async Task<Block?> Next(CancellationToken cancellation)
    {
        while (_next < _count)
        {
            var atTarget = held?[_next] == true;
            if (!atTarget) await _unproven.WaitAsync(cancellation);
            var offset = (long)_next * Block.MaxLength;
            var block = new Block(_next, offset, (int)Math.Min(Block.MaxLength, length - offset), ArrayPool<byte>.Shared.Rent(Block.MaxLength));
            if (await _hashing.ReadAtLeastAsync(block.Bytes.AsMemory(0, block.Length), block.Length, throwOnEndOfStream: false, cancellation)
                < block.Length)
            {
                _next = _count;
                if (atTarget) ArrayPool<byte>.Shared.Return(block.Bytes);
                else Proven(block);
                return null;
            }
            _next++;
            if (atTarget)
            {
                ArrayPool<byte>.Shared.Return(block.Bytes);
                continue;
            }
            if (meter is not null) await meter.Pace(block.Length, cancellation);
            return block;
        }
        return null;
    }

    /// <summary>The target holds <paramref name="block"/> as it was sent: its bytes are let go.</summary>
    public void Proven(Block block)
    {
        ArrayPool<byte>.Shared.Return(block.Bytes);
        _unproven.Release();
    }

    public void Dispose()
    {
        _hashing.Dispose();
        _unproven.Dispose();
    }
}
