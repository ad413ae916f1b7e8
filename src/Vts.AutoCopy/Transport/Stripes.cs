using System.Security.Cryptography;

namespace Vts.AutoCopy.Transport;

/// <summary>
/// A large tape to a far target goes over several SSH connections at once, into the one temporary file. One
/// connection moves at most what it may have in flight per round trip: its socket buffer (which SSH.NET fixes) and the
/// server's channel window (2 MiB for OpenSSH) — about 27 MB/s at 50 ms, whatever the link. Several connections, like
/// rclone's multi-thread upload or mscp, add up. On a near target (loopback, a LAN) one connection is not bound by the
/// round trip, and more would only share the same CPU: a tape goes whole there.
/// </summary>
/// <remarks>The tape is cut into chunks of <see cref="ChunkLength"/>; each connection takes the next chunk not yet
/// taken, so a slower connection holds back no other. R9 still holds: each chunk is hashed here as it is read and by
/// the target's receiver as it is written, and the two must match; the tape's own SHA-256 (journaled) is taken by one
/// sequential read of the source alongside. Every chunk matching and the sizes adding up is the whole file matching.
/// </remarks>
internal static class Stripes
{
    /// <summary>At most this many connections for one tape.</summary>
    public const int MaxCount = 4;

    /// <summary>The unit a connection sends, and that the target answers for. Each answer costs the connection one
    /// round trip of idling (about 2 % at 50 ms); each chunk cut short by a lost connection is sent again.</summary>
    public const long ChunkLength = 32L << 20;

    /// <summary>Below this round trip one connection is not bound by it (about 270 MB/s at 5 ms); loopback and a LAN
    /// are well under it, even on a busy machine.</summary>
    public static readonly TimeSpan FarRoundTrip = TimeSpan.FromMilliseconds(5);

    /// <summary>How many connections a tape of <paramref name="length"/> goes over, on a link of <paramref name="roundTrip"/>.</summary>
    public static int Count(long length, TimeSpan roundTrip) =>
        roundTrip < FarRoundTrip ? 1 : (int)Math.Clamp(length / ChunkLength, 1, MaxCount);

    /// <summary>The chunks, in order, covering the tape exactly once. Boundaries fall on whole MiB: the receiver writes
    /// with O_DIRECT, which needs aligned offsets.</summary>
    public static IReadOnlyList<(long Offset, long Length)> Chunks(long length)
    {
        var chunks = new List<(long, long)>();
        for (var offset = 0L; offset < length; offset += ChunkLength) chunks.Add((offset, Math.Min(ChunkLength, length - offset)));
        if (chunks.Count == 0) chunks.Add((0, 0));
        return chunks;
    }

    /// <summary>The SHA-256 of a whole file, from one read of it, and with <paramref name="chunks"/> also of each of
    /// its chunks (what a resumed copy compares, R17).</summary>
    public static async Task<(string Sha256, long Length, IReadOnlyList<string> Chunks)> HashFile(string path, bool chunks,
        CancellationToken cancellation)
    {
        await using var file = SourceTape.Open(path);
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var chunk = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var hashes = new List<string>();
        var buffer = new byte[1 << 20]; // divides ChunkLength: no read crosses a chunk's end
        long total = 0;
        int n;
        while ((n = await file.ReadAsync(buffer, cancellation)) > 0)
        {
            whole.AppendData(buffer, 0, n);
            total += n;
            if (!chunks) continue;
            chunk.AppendData(buffer, 0, n);
            if (total % ChunkLength == 0) hashes.Add(Convert.ToHexStringLower(chunk.GetHashAndReset()));
        }
        if (chunks && total % ChunkLength != 0) hashes.Add(Convert.ToHexStringLower(chunk.GetHashAndReset()));
        return (Convert.ToHexStringLower(whole.GetCurrentHash()), total, hashes);
    }
}
