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

    /// <summary>What a resume (R17) proves and takes of an earlier attempt's file at a time. Smaller than a chunk: a cut
    /// leaves each connection's chunk part-written (four at once, far away), and those parts are taken too; the loss
    /// per cut is at most a unit per connection. Each unit costs the target one copy request (pipelined, synced).</summary>
    public const long ResumeUnit = 4L << 20;

    /// <summary>Below this round trip one connection is not bound by it (about 270 MB/s at 5 ms); loopback and a LAN
    /// are well under it, even on a busy machine.</summary>
    public static readonly TimeSpan FarRoundTrip = TimeSpan.FromMilliseconds(5);

    /// <summary>How many connections a tape of <paramref name="length"/> goes over, on a link of <paramref name="roundTrip"/>.</summary>
    public static int Count(long length, TimeSpan roundTrip) =>
        roundTrip < FarRoundTrip ? 1 : (int)Math.Clamp(length / ChunkLength, 1, MaxCount);

    /// <summary>The chunks, in order, covering the tape exactly once. Boundaries fall on whole MiB: the receiver writes
    /// with O_DIRECT, which needs aligned offsets.</summary>
    public static IReadOnlyList<(long Offset, long Length)> Chunks(long length, long unit = ChunkLength)
    {
        var chunks = new List<(long, long)>();
        for (var offset = 0L; offset < length; offset += unit) chunks.Add((offset, Math.Min(unit, length - offset)));
        if (chunks.Count == 0) chunks.Add((0, 0));
        return chunks;
    }

    /// <summary>The ranges of a tape still to send, in order, cut into pieces of at most a chunk: neighbouring
    /// <paramref name="units"/> joined first, so that what a resume left is sent in as few pieces as it can.</summary>
    public static IReadOnlyList<(long Offset, long Length)> ToSend(IEnumerable<(long Offset, long Length)> units)
    {
        var joined = new List<(long Offset, long Length)>();
        foreach (var unit in units.OrderBy(u => u.Offset))
            if (joined.Count > 0 && joined[^1].Offset + joined[^1].Length == unit.Offset)
                joined[^1] = (joined[^1].Offset, joined[^1].Length + unit.Length);
            else joined.Add(unit);
        return joined.SelectMany(range => Chunks(range.Length).Select(piece => (range.Offset + piece.Offset, piece.Length))).ToList();
    }

    /// <summary>The SHA-256 of a whole file, from one read of it, and with <paramref name="chunks"/> also of each of
    /// its pieces of <paramref name="unit"/> bytes (what a resumed copy compares, R17; a multiple of a MiB).</summary>
    public static async Task<(string Sha256, long Length, IReadOnlyList<string> Chunks)> HashFile(string path, bool chunks,
        CancellationToken cancellation, long unit = ResumeUnit)
    {
        await using var file = SourceTape.Open(path);
        using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var chunk = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var hashes = new List<string>();
        var buffer = new byte[1 << 20]; // divides the unit: no read crosses a unit's end
        long total = 0;
        int n;
        while ((n = await file.ReadAsync(buffer, cancellation)) > 0)
        {
            whole.AppendData(buffer, 0, n);
            total += n;
            if (!chunks) continue;
            chunk.AppendData(buffer, 0, n);
            if (total % unit == 0) hashes.Add(Convert.ToHexStringLower(chunk.GetHashAndReset()));
        }
        if (chunks && total % unit != 0) hashes.Add(Convert.ToHexStringLower(chunk.GetHashAndReset()));
        return (Convert.ToHexStringLower(whole.GetCurrentHash()), total, hashes);
    }
}
