using System.Diagnostics;
using System.Security.Cryptography;
using Renci.SshNet;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Transport;

/// <summary>Copies a tape over SSH (SSH.NET) to its target (R4, R9, R10, R14): the host key is pinned, the bytes go
/// to a temporary name in the target pool folder while the source is hashed, the target hashes what it received (as
/// it writes it, where it can: <see cref="TargetWriter"/>), and only a match is renamed (POSIX rename, atomic) to the
/// final name. A cut connection or a cancelled transfer can leave a temporary file, never a partial tape under its
/// final name.</summary>
/// <param name="python">the name or path of python3 at the target, for <see cref="TargetWriter"/>'s hashing
/// receiver; null to stream large tapes into plain <c>cat</c> and hash them afterwards.</param>
public sealed class SftpTapeTransport(string? python = TargetWriter.Python) : ITapeTransport
{
    private readonly SessionPool _sessions = new(python);

    /// <summary>Each attempt writes a name of its own (R15): after a hand-over the old owner may still be writing its
    /// file, and the new owner must neither truncate it nor prove and rename it.</summary>
    public static string TemporaryName(string volser, string attempt) => $".{volser}.{attempt}.autocopy.tmp";

    /// <summary>Every attempt's temporary name of a volser, as a file-name pattern.</summary>
    public static string TemporaryNames(string volser) => $".{volser}.*.autocopy.tmp";

    /// <summary>From this size on a tape is streamed over a command channel rather than SFTP (see <see cref="TargetWriter"/>).</summary>
    public const long StreamingThreshold = 64L << 20;

    public async Task<TransferOutcome> CopyAsync(TransferRequest request, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var target = request.Target;
        var poolDir = $"{target.VaultRoot.TrimEnd('/')}/{request.TargetPool}";
        var finalPath = $"{poolDir}/{request.Volser}";
        var tempPath = $"{poolDir}/{TemporaryName(request.Volser.Value, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)))}";

        FileStream source;
        try
        {
            source = new FileStream(request.SourcePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete,
                bufferSize: 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new TransferOutcome.Failed($"source tape file {request.SourcePath} not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new TransferOutcome.Failed($"source tape file {request.SourcePath} cannot be read: {e.Message}");
        }

        await using var _ = source;
        var before = File.GetLastWriteTimeUtc(request.SourcePath);
        var length = source.Length;

        TargetSession session;
        try
        {
            session = await _sessions.Rent(target, cancellation);
        }
        catch (HostKeyRefusedException refused)
        {
            return new TransferOutcome.Failed(refused.Message, Security: true);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return new TransferOutcome.Cancelled("tape mounted during transfer");
        }
        catch (Exception e)
        {
            return new TransferOutcome.Failed($"cannot connect to {target.Host}:{target.Port}: {e.Message}");
        }

        var healthy = false;
        var sftp = session.Sftp;
        var uploading = false;
        try
        {
            if (await FindInOtherPool(sftp, request, cancellation) is { } otherPool)
            {
                healthy = true;
                return new TransferOutcome.Failed(
                    $"volser {request.Volser} already exists in pool {otherPool} on target {target.Name}; refusing a second copy in pool {request.TargetPool}");
            }
            await EnsureFolder(sftp, poolDir, cancellation);

            uploading = true;
            using var hashing = new HashingReadStream(source);
            var streamed = length >= StreamingThreshold ? await session.TryStream(hashing, length, tempPath, cancellation) : null;
            if (streamed is null)
            {
                // Created exclusively first (fails if anything, a link included, has the name); the upload then writes it.
                await using (await sftp.OpenAsync(tempPath, FileMode.CreateNew, FileAccess.Write, cancellation)) { }
                await sftp.UploadFileAsync(hashing, tempPath, cancellation);
            }
            var sha256 = hashing.Sha256Hex();

            if (hashing.BytesRead != length || File.GetLastWriteTimeUtc(request.SourcePath) != before
                || new FileInfo(request.SourcePath).Length != length)
            {
                await DeleteQuietly(sftp, tempPath);
                healthy = true;
                return new TransferOutcome.Failed("source tape changed during the transfer; attempt voided");
            }

            var verifying = Stopwatch.StartNew();
            var (received, proof) = streamed is { Sha256: { } inStream }
                ? (inStream, TargetProof.HashedWhileWriting)
                : await session.HashAtTarget(tempPath, cancellation);
            var verification = verifying.Elapsed;
            var sizeAtTarget = streamed?.Size ?? length;
            if (!string.Equals(received, sha256, StringComparison.Ordinal) || sizeAtTarget != length)
            {
                await DeleteQuietly(sftp, tempPath);
                return new TransferOutcome.Failed(sizeAtTarget == length
                    ? $"SHA-256 at the target ({received}) differs from the source ({sha256})"
                    : $"the target received {sizeAtTarget} bytes of the source's {length}");
            }

            // posix-rename@openssh.com replaces an older copy in one step: readers see the old tape or the new one.
            await Task.Run(() => sftp.RenameFile(tempPath, finalPath, isPosix: true), cancellation);
            healthy = true;
            return new TransferOutcome.Succeeded(length, sha256, clock.Elapsed, proof, verification);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            if (uploading) await DeleteQuietly(sftp, tempPath);
            return new TransferOutcome.Cancelled("tape mounted during transfer");
        }
        catch (Exception e)
        {
            if (uploading) await DeleteQuietly(sftp, tempPath);
            return new TransferOutcome.Failed($"transfer to {target.Name} failed: {e.Message}");
        }
        finally
        {
            // A session that saw an error or a cancellation is not trusted to be in step: it is closed, not reused.
            if (healthy) _sessions.Return(target, session);
            else session.Dispose();
        }
    }

    /// <summary>R14: a volser is unique across the pools of a VTS system.</summary>
    private static async Task<string?> FindInOtherPool(SftpClient sftp, TransferRequest request, CancellationToken cancellation)
    {
        var root = request.Target.VaultRoot;
        await foreach (var entry in sftp.ListDirectoryAsync(root, cancellation))
        {
            if (!entry.IsDirectory || entry.Name is "." or ".." || entry.Name == request.TargetPool.Value) continue;
            if (await sftp.ExistsAsync($"{entry.FullName}/{request.Volser}", cancellation)) return entry.Name;
        }
        return null;
    }

    /// <summary>Two transfers into a new target pool may both find it missing: the second mkdir fails (SFTP says only
    /// "Failure"), and the folder is there all the same.</summary>
    private static async Task EnsureFolder(SftpClient sftp, string folder, CancellationToken cancellation)
    {
        if (await sftp.ExistsAsync(folder, cancellation)) return;
        try
        {
            await sftp.CreateDirectoryAsync(folder, cancellation);
        }
        catch (Renci.SshNet.Common.SshException)
        {
            if (!await sftp.ExistsAsync(folder, cancellation)) throw;
        }
    }

    private static async Task DeleteQuietly(SftpClient sftp, string path)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            if (sftp.IsConnected) await sftp.DeleteFileAsync(path, timeout.Token);
        }
        catch (Exception)
        {
            // A leftover temporary file is harmless: it never carries the final name, and the next attempt overwrites it.
        }
    }
}
