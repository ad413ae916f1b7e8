using System.Collections.Concurrent;
using Renci.SshNet;
using Renci.SshNet.Common;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Transport;

/// <summary>The target refused to prove it is the pinned host (R10); the message names what was offered.</summary>
public sealed class HostKeyRefusedException(string message) : Exception(message);

/// <summary>One authenticated SSH connection pair to a target: SFTP for the bytes, a shell channel for the
/// remote hash. Setting one up costs several round trips and a key exchange, so they are kept between copies.</summary>
internal sealed class TargetSession : IDisposable
{
    private const string PreferredCipher = "aes128-gcm@openssh.com";
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private readonly PrivateKeyFile _key;
    private SshClient? _shell;
    private RemoteHasher? _hasher;
    private bool _noRemoteHasher;
    private bool _noStreaming;

    public TargetSettings Target { get; }
    public SftpClient Sftp { get; }

    private TargetSession(TargetSettings target, PrivateKeyFile key)
    {
        Target = target;
        _key = key;
        Sftp = new SftpClient(Connection()) { KeepAliveInterval = KeepAlive, OperationTimeout = target.OperationTimeout };
    }

    public static async Task<TargetSession> Open(TargetSettings target, PrivateKeyFile key, CancellationToken cancellation)
    {
        var session = new TargetSession(target, key);
        try
        {
            await Connect(session.Sftp, target, cancellation);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The session's command channel connection (opened on first use).</summary>
    public async Task<SshClient> Shell(CancellationToken cancellation)
    {
        if (_shell is { IsConnected: true }) return _shell;
        _shell?.Dispose();
        _shell = new SshClient(Connection()) { KeepAliveInterval = KeepAlive };
        await Connect(_shell, Target, cancellation);
        return _shell;
    }

    /// <summary>Streams a large tape into <c>cat</c> on the target over a command channel: no SFTP request and
    /// acknowledgement per 32 KiB, so SSH.NET moves about twice what its SFTP upload does here. A command costs a shell
    /// start on the target (up to a second), so small tapes keep to SFTP. False when the target cannot run it.</summary>
    public async Task<bool> TryStream(Stream source, string path, CancellationToken cancellation)
    {
        if (_noStreaming) return false;
        using var command = (await Shell(cancellation)).CreateCommand($"cat > '{path}'");
        var running = command.ExecuteAsync(cancellation);
        await using (var input = command.CreateInputStream())
            await source.CopyToAsync(input, 1 << 20, cancellation);
        await running;
        if (command.ExitStatus == 0) return true;
        _noStreaming = true; // no shell or no cat for us there: SFTP from now on
        return false;
    }

    /// <summary>SHA-256 of a file as the target holds it: by the target's own sha256sum where it has one
    /// (started once per session), else by reading the file back.</summary>
    public async Task<string> HashAtTarget(string path, CancellationToken cancellation)
    {
        if (!_noRemoteHasher)
        {
            try
            {
                _hasher ??= RemoteHasher.Start(await Shell(cancellation));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                timeout.CancelAfter(Target.OperationTimeout);
                if (await _hasher.Hash(path, timeout.Token) is { } hash) return hash;
            }
            catch (Exception) when (!cancellation.IsCancellationRequested)
            {
                // Fall through to reading back; this session stops asking the target.
            }
            _noRemoteHasher = true;
        }
        return await ReadBackHash.Of(Sftp, path, cancellation);
    }

    public bool IsConnected => Sftp.IsConnected;

    private static async Task Connect(BaseClient client, TargetSettings target, CancellationToken cancellation)
    {
        string? refusal = null;
        client.HostKeyReceived += (_, e) => refusal = Trust(target, e);
        try
        {
            await client.ConnectAsync(cancellation);
        }
        catch (Exception) when (refusal is not null)
        {
            throw new HostKeyRefusedException(refusal);
        }
    }

    /// <summary>R10: only the pinned key is trusted; SSH.NET would otherwise accept any host key.</summary>
    private static string? Trust(TargetSettings target, HostKeyEventArgs e)
    {
        var seen = "SHA256:" + e.FingerPrintSHA256;
        var pinned = target.HostKey.Sha256Fingerprint is { } fp
            ? [fp]
            : HostKeyFingerprint.FromKnownHosts(target.HostKey.KnownHostsFile!, target.Host, target.Port);
        e.CanTrust = pinned.Contains(seen, StringComparer.Ordinal);
        if (e.CanTrust) return null;
        return pinned.Count == 0
            ? $"host key {seen} of {target.Host}:{target.Port} is unknown (not in {target.HostKey.KnownHostsFile}); not trusted"
            : $"host key of {target.Host}:{target.Port} changed: offered {seen}, pinned {string.Join(", ", pinned)}; not trusted";
    }

    private ConnectionInfo Connection()
    {
        var info = new ConnectionInfo(Target.Host, Target.Port, Target.User, new PrivateKeyAuthenticationMethod(Target.User, _key))
        {
            Timeout = Target.ConnectTimeout,
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

    public void Dispose()
    {
        _hasher?.Dispose();
        _shell?.Dispose();
        Sftp.Dispose();
    }
}

/// <summary>Idle sessions per target, reused by the next copy. A session is checked before reuse (the target may
/// have restarted), and one that failed is never returned, so a broken connection costs no attempt.</summary>
internal sealed class SessionPool
{
    private const int IdlePerTarget = 8;
    private readonly ConcurrentDictionary<string, PrivateKeyFile> _keys = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<TargetSession>> _idle = new();

    public async Task<TargetSession> Rent(TargetSettings target, CancellationToken cancellation)
    {
        var idle = _idle.GetOrAdd(target.Name.Value, _ => []);
        while (idle.TryTake(out var session))
        {
            var works = false;
            try { works = await StillWorks(session, cancellation); }
            finally { if (!works) session.Dispose(); }
            if (works) return session;
        }
        var key = _keys.GetOrAdd(target.PrivateKeyFile, path => new PrivateKeyFile(path));
        return await TargetSession.Open(target, key, cancellation);
    }

    public void Return(TargetSettings target, TargetSession session)
    {
        var idle = _idle.GetOrAdd(target.Name.Value, _ => []);
        if (session.IsConnected && idle.Count < IdlePerTarget) idle.Add(session);
        else session.Dispose();
    }

    private static async Task<bool> StillWorks(TargetSession session, CancellationToken cancellation)
    {
        if (!session.IsConnected) return false;
        try
        {
            await session.Sftp.ExistsAsync(session.Target.VaultRoot, cancellation);
            return true;
        }
        catch (Exception) when (!cancellation.IsCancellationRequested)
        {
            return false;
        }
    }
}
