using System.Security.Cryptography;
using System.Text;
using Renci.SshNet;

namespace Vts.AutoCopy.Transport;

/// <summary>Hashes received files on the target with its <c>openssl</c> or <c>sha256sum</c>: one loop per session
/// (<see cref="SessionCommand"/>) that hashes the paths it is sent, one per line.</summary>
internal sealed class RemoteHasher : IDisposable
{
    // Paths here are built from validated pool names and volsers: no newline, no quote can reach the loop.
    // OpenSSL's SHA-256 is two to three times faster than coreutils' where the target has it; both print "<hex> *<path>".
    private const string Loop = """if command -v openssl >/dev/null 2>&1; then h="openssl dgst -sha256 -r"; else h="sha256sum -b --"; fi; while IFS= read -r p; do $h "$p" 2>/dev/null || echo FAILED; done""";

    private readonly SessionCommand _loop;

    private RemoteHasher(SessionCommand loop) => _loop = loop;

    public static RemoteHasher Start(SshClient shell) => new(SessionCommand.Start(shell, Loop));

    /// <summary>The lower-case hex SHA-256 of the file as the target holds it, or null where it cannot say. A
    /// cancellation ends the loop (see <see cref="SessionCommand.ReadLine"/>); the session then reads files back.</summary>
    public async Task<string?> Hash(string path, CancellationToken cancellation)
    {
        await _loop.Input.WriteAsync(Encoding.UTF8.GetBytes(path + "\n"), cancellation);
        await _loop.Input.FlushAsync(cancellation);
        // "<hex> *<path>": room for the longest path a target may have, so an answer is never left half read.
        var line = await _loop.ReadLine(cancellation, limit: 64 + 2 + 4096);
        return line is { Length: >= 64 } && line[..64].All(Uri.IsHexDigit) ? line[..64].ToLowerInvariant() : null;
    }

    public void Dispose() => _loop.Dispose();
}

/// <summary>Hashes many files of one folder at the target in one process per batch (a process per file costs ~12 ms
/// of start-up here, most of a reconcile's content check of small tapes): one loop per session that takes a folder
/// line and a line of names, hashes them with one <c>openssl</c> or <c>sha256sum</c>, and ends each batch's answers
/// with a marker line.</summary>
internal sealed class RemoteBatchHasher : IDisposable
{
    // Names are volsers (letters and digits: no blank, quote or glob character reaches the shell); the folder comes
    // from the validated configuration and is quoted. A file that cannot be read gets no line; each answer names its file.
    // A batch's answer leaves in one write: two small ones would wait on the delayed acknowledgement of the first
    // (40 ms a batch on Linux).
    private const string End = "--end--";
    private const string Loop = """if command -v openssl >/dev/null 2>&1; then h="openssl dgst -sha256 -r"; else h="sha256sum -b --"; fi; while IFS= read -r d && IFS= read -r n; do r=$(cd -- "$d" 2>/dev/null && $h $n 2>/dev/null); printf '%s\n--end--\n' "$r"; done""";

    private readonly SessionCommand _loop;

    private RemoteBatchHasher(SessionCommand loop) => _loop = loop;

    public static RemoteBatchHasher Start(SshClient shell) => new(SessionCommand.Start(shell, Loop));

    /// <summary>The lower-case hex SHA-256 of each named file of <paramref name="folder"/>, in the order asked; null for
    /// one the target could not hash (gone, unreadable).</summary>
    public async Task<IReadOnlyList<string?>> HashAll(string folder, IReadOnlyList<string> names, CancellationToken cancellation)
    {
        if (names.Count == 0) return [];
        await _loop.Input.WriteAsync(Encoding.UTF8.GetBytes($"{folder}\n{string.Join(' ', names)}\n"), cancellation);
        await _loop.Input.FlushAsync(cancellation);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = 0;
        while (true)
        {
            // "<hex> *<name>" per file, then the marker: a loop that ends early is a failure, not a batch of nulls.
            var line = await _loop.ReadLine(cancellation, limit: 64 + 2 + 4096)
                       ?? throw new IOException("the target's hashing loop ended before it answered");
            if (line == End) break;
            if (++lines > names.Count + 16) throw new IOException("the target's hashing loop answered more lines than files were asked");
            if (line.Length > 66 && line[..64].All(Uri.IsHexDigit) && line[64] == ' ')
                hashes[line[65..].TrimStart('*')] = line[..64].ToLowerInvariant();
        }
        return names.Select(n => hashes.GetValueOrDefault(n)).ToList();
    }

    public void Dispose() => _loop.Dispose();
}

/// <summary>Reads a file back over SFTP to hash it: the proof of last resort, for a target without sha256sum.</summary>
internal static class ReadBackHash
{
    /// <param name="moved">told of each piece read back: a read-back takes as long as the upload did, and one that is
    /// still moving is not stalled.</param>
    public static async Task<string> Of(SftpClient sftp, string path, CancellationToken cancellation, Action? moved = null)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await sftp.DownloadFileAsync(path, new HashSink(sha, moved), cancellation);
        return Convert.ToHexStringLower(sha.GetCurrentHash());
    }

    private sealed class HashSink(IncrementalHash sha, Action? moved) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            sha.AppendData(buffer);
            moved?.Invoke();
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => 0;
        public override long Position { get => 0; set { } }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) { }
    }
}
