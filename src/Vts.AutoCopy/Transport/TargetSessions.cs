using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
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
    private readonly TargetRelay _relay;
    private SshClient? _shell;
    private RemoteHasher? _hasher;
    private RemoteBatchHasher? _batchHasher;
    private HashingReceiver? _receiver;
    private readonly TargetAbilities _abilities;

    public TargetSettings Target { get; }
    public SftpClient Sftp { get; }

    private TargetSession(TargetSettings target, PrivateKeyFile key, TargetAbilities abilities)
    {
        Target = target;
        _key = key;
        _abilities = abilities;
        // Twice the operation timeout: a stalled transfer is ended (and named so) by its StallWatch first; this ends
        // what no watch covers, such as an idle session's keep-alive into a dark link.
        _relay = TargetRelay.Start(target.Host, target.Port, target.ConnectTimeout, 2 * target.OperationTimeout);
        // Reads of up to 64 KiB (SSH.NET's own packet size; writes stay capped at the server's): half the read requests of
        // its default, for a copy proven by reading it back (ReadBack.Pair).
        Sftp = new SftpClient(Connection())
        {
            KeepAliveInterval = KeepAlive, OperationTimeout = target.OperationTimeout, BufferSize = ReadBack.Pair.ReadLength,
        };
    }

    public static async Task<TargetSession> Open(TargetSettings target, PrivateKeyFile key, TargetAbilities abilities,
        CancellationToken cancellation)
    {
        var session = new TargetSession(target, key, abilities);
        try
        {
            await session.Connect(session.Sftp, cancellation);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Ends the command connection and what runs on it; the next command opens a new one.</summary>
    private void DropShell()
    {
        if (_receiver is { } receiver) SessionCommand.Quietly(receiver.Dispose);
        _receiver = null;
        if (_hasher is { } hasher) SessionCommand.Quietly(hasher.Dispose);
        _hasher = null;
        if (_batchHasher is { } batch) SessionCommand.Quietly(batch.Dispose);
        _batchHasher = null;
        if (_shell is { } shell) SessionCommand.Quietly(shell.Dispose);
        _shell = null;
    }

    /// <summary>The session's command channel connection (opened on first use).</summary>
    public async Task<SshClient> Shell(CancellationToken cancellation)
    {
        if (_shell is { IsConnected: true }) return _shell;
        DropShell();
        _shell = new SshClient(Connection()) { KeepAliveInterval = KeepAlive };
        await Connect(_shell, cancellation);
        return _shell;
    }

    /// <summary>Streams a large tape to <paramref name="path"/> over a command channel (<see cref="TargetWriter"/>):
    /// no SFTP request and acknowledgement per 32 KiB, so SSH.NET moves about twice what its SFTP upload does here.
    /// Null where the target has shown it runs no command for us: the tape then goes over SFTP.</summary>
    /// <param name="offset">where in the file already at <paramref name="path"/> these bytes go (one range of a tape
    /// sent over several sessions at once; only where <see cref="WritesRanges"/>); null for a whole new file.</param>
    public async Task<TargetWriter.Report.Written?> TryStream(Stream source, long length, string path, CancellationToken cancellation,
        long? offset = null)
    {
        if (_abilities.NoStreaming) return null;
        if (offset is not null && !WritesRanges) throw new InvalidOperationException("this target's sessions cannot write a range of a file");
        if (_abilities.Python is not null)
        {
            if (await Receiver(cancellation) is { } receiver)
            {
                switch (await receiver.Receive(source, length, path, offset, DropShell, Target.OperationTimeout, cancellation))
                {
                    case TargetWriter.Report.Written written:
                        return written;
                    case TargetWriter.Report.Refused refused:
                        // A full or read-only disk, say: what was written gives its room back rather than wait for a resume.
                        throw new AttemptVoidedException($"the target could not write {path}: {refused.Reason}");
                    case TargetWriter.Report.Garbled garbled when !await SftpAnswers():
                        // Not the receiver's fault: the link went dark under it. It keeps its trust.
                        throw new IOException($"the connection to the target was lost during the transfer ({garbled.Problem})");
                    case TargetWriter.Report.Garbled garbled:
                        _abilities.Python = null; // not trusted with another tape: the next attempt streams into cat
                        throw new IOException($"streaming to the target failed: {garbled.Problem}");
                    case var other:
                        throw new UnreachableException($"unknown report {other}"); // the source is spent: no second try
                }
            }
        }
        return await StreamIntoCat(source, path, cancellation);
    }

    /// <summary>The session's hashing receiver, started on first use; null where the target has none for us.</summary>
    private async Task<HashingReceiver?> Receiver(CancellationToken cancellation)
    {
        if (_receiver is { IsRunning: true }) return _receiver;
        _receiver?.Dispose();
        _receiver = null;
        if (_abilities.Python is not { } python || _abilities.NoStreaming) return null;
        try
        {
            _receiver = await HashingReceiver.Start(await Shell(cancellation), python, Target.OperationTimeout, cancellation);
        }
        catch (TimeoutException)
        {
            if (!await SftpAnswers()) throw;
            _receiver = null; // the connection answers, the python there does not
        }
        if (_receiver is null) _abilities.Python = null; // none there: cat from now on
        return _receiver;
    }

    /// <summary>Whether the target still answers on this session's SFTP connection: a receiver that stayed silent is
    /// then the target's python, not a link gone dark (which must not cost the target its receiver for good).</summary>
    private async Task<bool> SftpAnswers()
    {
        var probe = Sftp.ExistsAsync(Target.VaultRoot, CancellationToken.None);
        _ = probe.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        try
        {
            await probe.WaitAsync(TimeSpan.FromSeconds(Math.Min(10, Target.OperationTimeout.TotalSeconds)));
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>Starts what large tapes need at the target (the receiver, on a connection of its own) ahead of the
    /// bytes, so that a transfer's first bytes do not wait for it.</summary>
    public async Task Prepare(CancellationToken cancellation)
    {
        if (!_abilities.NoStreaming && _abilities.Python is not null) await Receiver(cancellation);
    }

    /// <summary>R17: the SHA-256 of each chunk of a file at the target, read there; null where it cannot be read (or
    /// the target runs no receiver for us).</summary>
    public async Task<(long Size, IReadOnlyList<string> Hashes)?> ChunkHashes(string path, long chunk, CancellationToken cancellation) =>
        await Receiver(cancellation) is { } receiver ? await receiver.Chunks(path, chunk, Target.OperationTimeout, cancellation) : null;

    /// <summary>R17: byte ranges of one file at the target copied into another there, each answered with the hash of
    /// what was copied.</summary>
    public async Task<IReadOnlyList<TargetWriter.Report>> CopyAtTarget(string from, string path, IReadOnlyList<(long Offset, long Length)> ranges,
        CancellationToken cancellation) =>
        await Receiver(cancellation) is { } receiver
            ? await receiver.Copy(from, path, ranges, Target.OperationTimeout, cancellation)
            : throw new InvalidOperationException("the target runs no receiver for us");

    /// <summary>R14, R15 and R17 looked at, and the temporary file <paramref name="temporaryName"/> created, by the
    /// receiver in one round trip (its "begin"). Null where the target runs no receiver for us: SFTP looks then.</summary>
    public async Task<TargetWriter.Begun?> Begin(string root, string pool, string volser, string temporaryName, CancellationToken cancellation) =>
        WritesRanges && await Receiver(cancellation) is { } receiver
            ? await receiver.Begin(root, pool, volser, temporaryName, Target.OperationTimeout, cancellation)
            : null;

    /// <summary>R15: <paramref name="from"/> put under <paramref name="path"/> by the target's own rename(2), through the
    /// receiver, which refuses a name held by a link or anything but a regular file. Null where the target runs no
    /// receiver for us; else what held the name (null when renamed).</summary>
    public async Task<Renamed?> RenameAtTarget(string from, string path, CancellationToken cancellation)
    {
        if (!WritesRanges) return null;
        HashingReceiver? receiver;
        try
        {
            receiver = await Receiver(cancellation);
        }
        catch (Exception) when (!cancellation.IsCancellationRequested)
        {
            return null; // a receiver that will not start costs a proven copy nothing: SFTP renames it
        }
        return receiver is null ? null : new Renamed(await receiver.Rename(from, path, Target.OperationTimeout, cancellation));
    }

    /// <summary>R15: a file at the target removed by the target's own unlink(2), through the receiver, which removes a
    /// link there and never what it points to. False where the target runs no receiver for us.</summary>
    public async Task<bool> UnlinkAtTarget(string path, CancellationToken cancellation)
    {
        if (!WritesRanges) return false;
        try
        {
            return await Receiver(cancellation) is { } receiver && await receiver.Unlink(path, Target.OperationTimeout, cancellation);
        }
        catch (Exception) when (!cancellation.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>R17: the stale temporary files of <paramref name="volser"/>'s earlier attempts in <paramref name="folder"/>
    /// removed through the receiver (regular files not modified for <paramref name="age"/>: no attempt is writing them).
    /// True when the receiver answered, or there is none to ask; false when it did not (the session is out of step).</summary>
    public async Task<bool> SweepAtTarget(string folder, string volser, TimeSpan age, CancellationToken cancellation)
    {
        if (!WritesRanges) return true;
        try
        {
            if (await Receiver(cancellation) is { } receiver) await receiver.Sweep(folder, volser, age, Target.OperationTimeout, cancellation);
            return true;
        }
        catch (Exception)
        {
            return false; // the copy is under its final name all the same; what is left goes at a later copy
        }
    }

    /// <param name="Refused">what held the final name ("link", "folder", "fifo", "special"); null: renamed.</param>
    public sealed record Renamed(string? Refused);

    /// <summary>A command costs a shell start on the target (up to a second), which is why small tapes keep to SFTP.</summary>
    private async Task<TargetWriter.Report.Written> StreamIntoCat(Stream source, string path, CancellationToken cancellation)
    {
        using var command = (await Shell(cancellation)).CreateCommand(TargetWriter.CatCommand(path));
        var running = command.ExecuteAsync(cancellation);
        var sending = Task.Run(async () =>
        {
            await using var input = command.CreateInputStream();
            await source.CopyToAsync(input, 1 << 20, cancellation);
        }, CancellationToken.None);
        _ = sending.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // seen below unless cat failed first
        try
        {
            await running;
        }
        finally
        {
            // cat ended early (it could not write) and reads no more: see HashingReceiver.Receive.
            if (!sending.IsCompleted) DropShell();
        }
        await sending;
        if (command.ExitStatus == 0) return new TargetWriter.Report.Written(null, null);
        _abilities.NoStreaming = true; // no shell or no cat for us there: SFTP from the next attempt on
        throw new IOException($"streaming to the target failed: cat exited with {command.ExitStatus?.ToString() ?? "no status"}");
    }

    /// <summary>SHA-256 of a file as the target holds it: by the target's own openssl or sha256sum where it has one
    /// (started once per session), else by reading the file back.</summary>
    /// <param name="moved">told of each piece of a read-back as it arrives (the target's own hash has a timeout of
    /// its own).</param>
    public async Task<(string Sha256, TargetProof Proof)> HashAtTarget(string path, CancellationToken cancellation, Action? moved = null)
    {
        if (!_abilities.NoRemoteHasher)
        {
            try
            {
                _hasher ??= RemoteHasher.Start(await Shell(cancellation));
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                timeout.CancelAfter(Target.OperationTimeout);
                if (await _hasher.Hash(path, timeout.Token) is { } hash) return (hash, TargetProof.HashedFile);
            }
            catch (Exception) when (!cancellation.IsCancellationRequested)
            {
                // Fall through to reading back; sessions to this target stop asking it.
            }
            _abilities.NoRemoteHasher = true;
        }
        return (await ReadBackHash.Of(Sftp, path, cancellation, moved), TargetProof.ReadBack);
    }

    /// <summary>SHA-256 of each named file of <paramref name="folder"/> as the target holds it, hashed there by its
    /// openssl or sha256sum, a batch to a process; nothing is read back over the link. Throws where the target has
    /// neither (or no shell for us): reading every tape back is what a reconcile's content check must not do.</summary>
    public async Task<IReadOnlyList<string?>> HashInPlace(string folder, IReadOnlyList<string> names, CancellationToken cancellation)
    {
        _batchHasher ??= RemoteBatchHasher.Start(await Shell(cancellation));
        var hashes = await _batchHasher.HashAll(folder, names, cancellation);
        // Files that vanished since the listing cannot be hashed either: only one that is there and was not hashed
        // says the target has no way to.
        if (names.Count > 0 && hashes.All(h => h is null) && await Sftp.ExistsAsync($"{folder}/{names[0]}", cancellation))
            throw new IOException($"{Target.Name} cannot hash files in place (no openssl or sha256sum for {Target.User} there)");
        return hashes;
    }

    public bool IsConnected => Sftp.IsConnected;

    /// <summary>How far the target is: the shortest round trip seen to it, <paramref name="seen"/> included.</summary>
    public TimeSpan RoundTrip(TimeSpan seen) => _abilities.ShortestRoundTrip(seen);

    /// <summary>Tapes go to this target over SFTP alone: it is <c>sftp-only</c> (R10), or it showed it runs no command
    /// for us.</summary>
    public bool OverSftpAlone => _abilities.NoStreaming;

    /// <summary>The target runs our hashing receiver, which can write a range of a file at its offset.</summary>
    public bool WritesRanges => !_abilities.NoStreaming && _abilities.Python is not null;

    /// <summary>Closes the session's connections under whatever uses them (see <see cref="TargetRelay.Sever"/>): for a
    /// transfer that stalled, whose send would otherwise stay blocked in SSH.NET.</summary>
    public void Sever() => _relay.Sever();

    /// <summary>Bytes this session carried to the target so far.</summary>
    public long BytesSent => _relay.BytesSent;

    private async Task Connect(BaseClient client, CancellationToken cancellation)
    {
        var target = Target;
        string? refusal = null;
        client.HostKeyReceived += (_, e) => refusal = Trust(target, e);
        try
        {
            // SSH.NET's own (loopback) socket to the relay gets fixed buffers: 10 SSH packets through Connect, 2 through
            // ConnectAsync, which would bound a session's throughput to the relay. So the blocking Connect, on a pool
            // thread; the connect timeout bounds it, and a cancellation stops waiting for it.
            var connecting = Task.Run(client.Connect, CancellationToken.None);
            _ = connecting.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            await connecting.WaitAsync(cancellation);
        }
        catch (Exception) when (refusal is not null)
        {
            throw new HostKeyRefusedException(refusal);
        }
        catch (Exception) when (_relay.ConnectError is { } error)
        {
            throw new IOException(error); // SSH.NET saw only the relay close: say why it did
        }
    }

    /// <summary>R10: only the pinned key is trusted; SSH.NET would otherwise accept any host key.</summary>
    private static string? Trust(TargetSettings target, HostKeyEventArgs e)
    {
        var seen = "SHA256:" + e.FingerPrintSHA256;
        var file = target.HostKey.KnownHostsFile;
        var known = target.HostKey.Sha256Fingerprint is { } fp
            ? new HostKeyFingerprint.KnownHostKeys([fp], [], false)
            : HostKeyFingerprint.FromKnownHosts(file!, target.Host, target.Port);
        e.CanTrust = known.Pinned.Contains(seen, StringComparer.Ordinal) && !known.Revoked.Contains(seen, StringComparer.Ordinal);
        if (e.CanTrust) return null;
        if (known.Revoked.Contains(seen, StringComparer.Ordinal))
            return $"host key {seen} of {target.Host}:{target.Port} is marked @revoked in {file}; not trusted";
        if (known.Pinned.Count == 0 && known.CertificateAuthority)
            return $"host key {seen} of {target.Host}:{target.Port} is vouched for only by a @cert-authority line in {file}; host " +
                   "certificates are not supported: pin the host's own key there; not trusted";
        return known.Pinned.Count == 0
            ? $"host key {seen} of {target.Host}:{target.Port} is unknown (not in {file}); not trusted"
            : $"host key of {target.Host}:{target.Port} changed: offered {seen}, pinned {string.Join(", ", known.Pinned)}; not trusted";
    }

    private ConnectionInfo Connection()
    {
        // Through the relay (see TargetRelay); the host key is still the target's, checked against the pin.
        var info = new ConnectionInfo(IPAddress.Loopback.ToString(), _relay.Port, Target.User, new PrivateKeyAuthenticationMethod(Target.User, _key))
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
        if (_receiver is { } receiver) SessionCommand.Quietly(receiver.Dispose);
        if (_hasher is { } hasher) SessionCommand.Quietly(hasher.Dispose);
        if (_shell is { } shell) SessionCommand.Quietly(shell.Dispose);
        SessionCommand.Quietly(Sftp.Dispose);
        _relay.Dispose();
    }
}

/// <summary>What a target has shown it cannot do, shared by every session to it: an attempt that failed closes its
/// session, and the next session must not try the same thing again.</summary>
internal sealed class TargetAbilities
{
    /// <summary>Large tapes go over SFTP like small ones (the target ran no command for us).</summary>
    public volatile bool NoStreaming;

    /// <summary>The python the hashing receiver runs with at the target; null where large tapes stream into plain
    /// <c>cat</c> and are hashed afterwards (the receiver failed there, or the transport was told not to use it).</summary>
    public volatile string? Python;

    /// <summary>Files are proven by reading them back (the target hashed none for us).</summary>
    public volatile bool NoRemoteHasher;

    private long _shortestRoundTripTicks = long.MaxValue;

    /// <summary>The shortest round trip seen to this target, <paramref name="seen"/> included: a busy moment at either
    /// end lengthens one round trip, never the shortest.</summary>
    public TimeSpan ShortestRoundTrip(TimeSpan seen)
    {
        long shortest;
        while (seen.Ticks < (shortest = Interlocked.Read(ref _shortestRoundTripTicks))
               && Interlocked.CompareExchange(ref _shortestRoundTripTicks, seen.Ticks, shortest) != shortest)
        {
        }
        return TimeSpan.FromTicks(Math.Min(seen.Ticks, Interlocked.Read(ref _shortestRoundTripTicks)));
    }
}

/// <summary>Idle sessions per target, reused by the next copy. A session is checked before reuse (the target may
/// have restarted), and one that failed is never returned, so a broken connection costs no attempt.</summary>
internal sealed class SessionPool(string? python)
{
    private const int IdlePerTarget = 8;
    private readonly ConcurrentDictionary<string, PrivateKeyFile> _keys = new();
    private readonly ConcurrentDictionary<string, TargetAbilities> _abilities = new();
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
        // An sftp-only target (R10) is never asked to run a command: SFTP for every tape, proven by reading it back.
        var abilities = _abilities.GetOrAdd(target.Name.Value, _ => target.SftpOnly
            ? new TargetAbilities { Python = null, NoStreaming = true, NoRemoteHasher = true }
            : new TargetAbilities { Python = python });
        return await TargetSession.Open(target, key, abilities, cancellation);
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
