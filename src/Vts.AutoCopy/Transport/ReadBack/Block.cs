namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>A piece of a tape that goes to the target in one SFTP write request, with the bytes the source gave for it:
/// kept until the block read back from the target is seen to hold exactly them (R9).</summary>
/// <param name="Bytes">a pooled buffer; the block's bytes are its first <paramref name="Length"/>.</param>
internal sealed record Block(int Index, long Offset, int Length, byte[] Bytes)
{
    /// <summary>The largest multiple of 512 that one SSH.NET write request carries whatever handle the server gives (SFTP
    /// allows 256 bytes): SSH.NET caps a write at the server's packet size, 32 KiB for OpenSSH, less the request's 25
    /// bytes and the handle.</summary>
    public const int MaxLength = 32 * 1024 - 512;

    /// <summary>How many blocks a tape of <paramref name="tapeLength"/> bytes is cut into: all but the last are
    /// <see cref="MaxLength"/> long.</summary>
    public static int Count(long tapeLength) => checked((int)((tapeLength + MaxLength - 1) / MaxLength));

    public ReadOnlySpan<byte> Sent => Bytes.AsSpan(0, Length);

    public long End => Offset + Length;
}

/// <summary>Two neighbouring blocks (or a tape's last block alone), read back from the target in one request once it
/// acknowledged both: SSH.NET's reads may ask for up to 64 KiB (<see cref="ReadLength"/>, its own packet size), twice
/// what a write carries, so pairs halve the read requests, each of which costs SSH.NET more CPU than its bytes do.</summary>
internal sealed record Pair(Block First, Block? Second)
{
    /// <summary>What the session's SFTP client asks for in one read (its buffer size): a pair, and a little more.</summary>
    public const int ReadLength = 64 * 1024;

    public static int Of(Block block) => block.Index / 2;

    public long Offset => First.Offset;

    public int Length => First.Length + (Second?.Length ?? 0);

    public long End => Offset + Length;

    public IEnumerable<Block> Blocks => Second is null ? [First] : [First, Second];
}
