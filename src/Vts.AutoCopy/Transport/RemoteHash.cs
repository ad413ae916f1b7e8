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

/// <summary>Reads a file back over SFTP to hash it: the proof of last resort, for a target without sha256sum.</summary>
internal static class ReadBackHash
{
    public static async Task<string> Of(SftpClient sftp, string path, CancellationToken cancellation)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await sftp.DownloadFileAsync(path, new HashSink(sha), cancellation);
        return Convert.ToHexStringLower(sha.GetCurrentHash());
    }

    private sealed class HashSink(IncrementalHash sha) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => sha.AppendData(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => sha.AppendData(buffer);
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
