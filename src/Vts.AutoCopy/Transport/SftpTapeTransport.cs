using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Renci.SshNet;
using Renci.SshNet.Common;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Transport;

/// <summary>Copies a tape over SFTP (SSH.NET) to its target (R4, R9, R10, R14): the host key is pinned, the bytes go
/// to a temporary name in the target pool folder while the source is hashed, the target hashes what it received,
/// and only a match is renamed (POSIX rename, atomic) to the final name. A cut connection or a cancelled transfer
/// can leave a temporary file, never a partial tape under its final name.</summary>
public sealed class SftpTapeTransport : ITapeTransport
{
    private const string PreferredCipher = "aes128-gcm@openssh.com";
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, PrivateKeyFile> _keys = new();

    public static string TemporaryName(string volser) => $".{volser}.autocopy.tmp";

    public async Task<TransferOutcome> CopyAsync(TransferRequest request, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var target = request.Target;
        var poolDir = $"{target.VaultRoot.TrimEnd('/')}/{request.TargetPool}";
        var finalPath = $"{poolDir}/{request.Volser}";
        var tempPath = $"{poolDir}/{TemporaryName(request.Volser.Value)}";

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

        var trust = new HostKeyCheck(target);
        using var sftp = new SftpClient(Connection(target));
        sftp.HostKeyReceived += trust.Check;
        sftp.KeepAliveInterval = KeepAlive;
        sftp.OperationTimeout = target.OperationTimeout;
        try
        {
            await sftp.ConnectAsync(cancellation);
        }
        catch (Exception) when (trust.Refusal is { } refusal)
        {
            return new TransferOutcome.Failed(refusal, Security: true);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return new TransferOutcome.Cancelled("tape mounted during transfer");
        }
        catch (Exception e)
        {
            return new TransferOutcome.Failed($"cannot connect to {target.Host}:{target.Port}: {e.Message}");
        }

        var uploading = false;
        try
        {
            if (await FindInOtherPool(sftp, request, cancellation) is { } otherPool)
                return new TransferOutcome.Failed(
                    $"volser {request.Volser} already exists in pool {otherPool} on target {target.Name}; refusing a second copy in pool {request.TargetPool}");
            if (!await sftp.ExistsAsync(poolDir, cancellation))
                await sftp.CreateDirectoryAsync(poolDir, cancellation);

            uploading = true;
            using var hashing = new HashingReadStream(source);
            await sftp.UploadFileAsync(hashing, tempPath, cancellation);
            var sha256 = hashing.Sha256Hex();

            if (hashing.BytesRead != length || File.GetLastWriteTimeUtc(request.SourcePath) != before
                || new FileInfo(request.SourcePath).Length != length)
            {
                await DeleteQuietly(sftp, tempPath);
                return new TransferOutcome.Failed("source tape changed during the transfer; attempt voided");
            }

            var received = await HashAtTarget(sftp, target, tempPath, cancellation);
            if (!string.Equals(received, sha256, StringComparison.Ordinal))
            {
                await DeleteQuietly(sftp, tempPath);
                return new TransferOutcome.Failed($"SHA-256 at the target ({received}) differs from the source ({sha256})");
            }

            // posix-rename@openssh.com replaces an older copy in one step: readers see the old tape or the new one.
            await Task.Run(() => sftp.RenameFile(tempPath, finalPath, isPosix: true), cancellation);
            return new TransferOutcome.Succeeded(length, sha256, clock.Elapsed);
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

    /// <summary>Hashes the received file on the target with sha256sum; where the target has none, reads it back.</summary>
    private async Task<string> HashAtTarget(SftpClient sftp, TargetSettings target, string path, CancellationToken cancellation)
    {
        var trust = new HostKeyCheck(target);
        using (var ssh = new SshClient(Connection(target)))
        {
            ssh.HostKeyReceived += trust.Check;
            await ssh.ConnectAsync(cancellation);
            using var command = ssh.CreateCommand($"sha256sum -b -- '{path}'");
            command.CommandTimeout = target.OperationTimeout;
            await command.ExecuteAsync(cancellation);
            if (command.ExitStatus == 0 && command.Result.Length >= 64)
                return command.Result[..64].ToLowerInvariant();
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await sftp.DownloadFileAsync(path, new HashSink(sha), cancellation);
        return Convert.ToHexStringLower(sha.GetCurrentHash());
    }

    private ConnectionInfo Connection(TargetSettings target)
    {
        var key = _keys.GetOrAdd(target.PrivateKeyFile, path => new PrivateKeyFile(path));
        var info = new ConnectionInfo(target.Host, target.Port, target.User, new PrivateKeyAuthenticationMethod(target.User, key))
        {
            Timeout = target.ConnectTimeout,
        };
        // SSH.NET offers ciphers in the order of this table; AES-GCM first is its fastest, and a server
        // without it still finds a common cipher further down.
        if (info.Encryptions.TryGetValue(PreferredCipher, out var gcm))
        {
            var others = info.Encryptions.Where(kv => kv.Key != PreferredCipher).ToList();
            info.Encryptions.Clear();
            info.Encryptions.Add(PreferredCipher, gcm);
            foreach (var (name, cipher) in others) info.Encryptions.Add(name, cipher);
        }
        return info;
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

    /// <summary>R10: only the pinned key is trusted; SSH.NET would otherwise accept any host key.</summary>
    private sealed class HostKeyCheck(TargetSettings target)
    {
        public string? Refusal { get; private set; }

        public void Check(object? sender, HostKeyEventArgs e)
        {
            var seen = "SHA256:" + e.FingerPrintSHA256;
            var pinned = target.HostKey.Sha256Fingerprint is { } fp
                ? [fp]
                : HostKeyFingerprint.FromKnownHosts(target.HostKey.KnownHostsFile!, target.Host, target.Port);
            if (pinned.Contains(seen, StringComparer.Ordinal))
            {
                e.CanTrust = true;
                return;
            }
            e.CanTrust = false;
            Refusal = pinned.Count == 0
                ? $"host key {seen} of {target.Host}:{target.Port} is unknown (not in {target.HostKey.KnownHostsFile}); not trusted"
                : $"host key of {target.Host}:{target.Port} changed: offered {seen}, pinned {string.Join(", ", pinned)}; not trusted";
        }
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
