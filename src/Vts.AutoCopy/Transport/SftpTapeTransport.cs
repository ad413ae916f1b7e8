using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Reconcile;
using Vts.AutoCopy.SecureVts;
using Vts.AutoCopy.Transport.ReadBack;

namespace Vts.AutoCopy.Transport;

/// <summary>Copies a tape over SSH (SSH.NET) to its target (R4, R9, R10, R14): the host key is pinned, the bytes go
/// to a temporary name in the target pool folder while the source is hashed, the target hashes what it received (as
/// it writes it, where it can: <see cref="TargetWriter"/>), and only a match is renamed (POSIX rename, atomic) to the
/// final name. A cut connection or a cancelled transfer can leave a temporary file, never a partial tape under its
/// final name.</summary>
/// <param name="python">the name or path of python3 at the target, for <see cref="TargetWriter"/>'s hashing
/// receiver; null to stream large tapes into plain <c>cat</c> and hash them afterwards.</param>
/// <param name="keys">R11's check of a tape encrypted by SecureVTS, before anything is sent; none: SecureVTS off here
/// (such tapes refused).</param>
public sealed class SftpTapeTransport(string? python = TargetWriter.Python, TapeKeyCheck? keys = null) : ITapeTransport, ITargetListing
{
    private readonly SessionPool _sessions = new(python);
    private readonly TapeKeyCheck _keys = keys ?? TapeKeyCheck.Off;

    /// <summary>Each attempt writes a name of its own (R15): after a hand-over the old owner may still be writing its
    /// file, and the new owner must neither truncate it nor prove and rename it.</summary>
    public static string TemporaryName(string volser, string attempt) => $".{volser}.{attempt}.autocopy.tmp";

    /// <summary>Every attempt's temporary name of a volser, as a file-name pattern.</summary>
    public static string TemporaryNames(string volser) => $".{volser}.*.autocopy.tmp";

    /// <summary>Whether <paramref name="name"/> is one of our temporary names (<see cref="TemporaryName"/>, the attempt a
    /// random 16 hex digits), of <paramref name="volser"/>'s attempts where given, else of any volser's.</summary>
    public static bool IsTemporaryName(string name, string? volser = null) =>
        System.Text.RegularExpressions.Regex.IsMatch(name,
            $@"^\.{(volser is null ? "[A-Z0-9]{1,6}" : System.Text.RegularExpressions.Regex.Escape(volser))}\.[0-9a-f]{{16}}\.autocopy\.tmp$");

    /// <summary>From this size on a tape is streamed over a command channel rather than SFTP (see <see cref="TargetWriter"/>).</summary>
    public const long StreamingThreshold = 64L << 20;

    public async Task<TransferOutcome> CopyAsync(TransferRequest request, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var target = request.Target;
        var poolDir = PoolFolder(target, request.TargetPool);
        var finalPath = $"{poolDir}/{request.Volser}";
        var tempPath = $"{poolDir}/{TemporaryName(request.Volser.Value, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)))}";

        FileStream source;
        try
        {
            source = SourceTape.Open(request.SourcePath);
        }
        catch (SourceRefusedException refused)
        {
            return new TransferOutcome.Failed(refused.Message, refused.Security ? FailureKind.NotARegularFile : FailureKind.Transfer);
        }

        await using var _ = source;
        // Taken before the key check (which may wait seconds for the key server): a tape rewritten meanwhile is seen.
        var before = File.GetLastWriteTimeUtc(request.SourcePath);
        if (await _keys.CheckAsync(source.SafeFileHandle, cancellation) is { } refusal)
            return new TransferOutcome.Failed(refusal.Cause, refusal.Kind);
        var length = source.Length;
        request.Meter?.Starting(length);

        TargetSession session;
        try
        {
            session = await _sessions.Rent(target, cancellation);
        }
        catch (HostKeyRefusedException refused)
        {
            return new TransferOutcome.Failed(refused.Message, FailureKind.TargetNotTrusted);
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
        // R17: a temporary file our receiver made is resumed from by the next attempt, so a cut (a cancellation: a mount,
        // a hand-over, a node stopping; a lost connection) keeps it. A changed source, bytes that differ from the
        // source's, or a target that could not write them void it (AttemptVoidedException).
        var resumable = false;
        // A stall severs the session's connections: that wakes a send blocked inside SSH.NET, and the attempt ends. Half
        // as long again as the operation timeout, so that a step with a timeout of its own (the receiver's answer after
        // the last byte, an SFTP request) fails first and in its own words.
        using var watch = new StallWatch(target.OperationTimeout * 1.5, cancellation, session.Sever);
        try
        {
            // Requests with their own timeout (SFTP's operation timeout), ahead of the bytes: not a stall.
            var lookingAround = watch.SettingUp();
            // What large tapes need at the target (the receiver, or what shows there is none) before the path is chosen.
            if (length >= StreamingThreshold) await session.Prepare(watch.Token);
            // The receiver's survey creates this attempt's temporary file: a fault from here on removes it.
            uploading = true;
            var survey = (length >= StreamingThreshold ? await SurveyThroughReceiver(session, request, tempPath, watch.Token) : null)
                         ?? await SurveyOverSftp(sftp, request, poolDir, watch.Token);
            // Chunks need the receiver at the target: where it answered the survey, it also created the temporary file.
            var inChunks = survey.ByReceiver;
            resumable = survey.ByReceiver;
            if (survey.PoolFolderProblem is { } poolFolder)
            {
                healthy = true;
                return new TransferOutcome.Failed(
                    $"target pool folder {poolDir} on {target.Name} is {poolFolder}; nothing written through it (R15)", FailureKind.NotARegularFile);
            }
            if (survey.OtherPool is { } otherPool)
            {
                healthy = true;
                return new TransferOutcome.Failed(
                    $"volser {request.Volser} already exists in pool {otherPool} on target {target.Name}; refusing a second copy in pool {request.TargetPool}");
            }
            // A large tape to a target that runs no command for us goes over SFTP alone, read back as it is written.
            var readBack = length >= StreamingThreshold && session.OverSftpAlone;
            var stripes = inChunks ? Stripes.Count(length, session.RoundTrip(survey.RoundTrip))
                : readBack ? ReadBackCopy.Connections(length, session.RoundTrip(survey.RoundTrip)) : 1;
            // R17: what an earlier attempt left at the target, to be resumed from (the receiver's survey found it).
            var partial = survey.Partial is { } name ? $"{poolDir}/{name}" : null;
            lookingAround.Dispose();
            string sha256, received;
            long bytesRead, sizeAtTarget, resumed = 0;
            TargetProof proof;
            var verification = TimeSpan.Zero;
            EarlierAttempts.Found? earlier = null;
            if (readBack)
            {
                // Created exclusively first (fails if anything, a link included, has the name); its handles then open it.
                await using (await sftp.OpenAsync(tempPath, FileMode.CreateNew, FileAccess.Write, watch.Token)) { }
                // R17 over SFTP alone: the file is kept across a cut, and the next attempt takes over the largest one that
                // no attempt can still be writing (EarlierAttempts), keeping the blocks it holds as the source has them.
                resumable = true;
                BitArray? atTarget;
                (earlier, atTarget, resumed) = await TakeOverEarlierAttempt(sftp, request, poolDir, tempPath, length, watch);
                ReadBackCopy.Copied copied;
                (copied, stripes) = await SendAndReadBack(session, request, source, length, tempPath, stripes, watch, atTarget);
                (sha256, bytesRead, sizeAtTarget, verification) = copied;
                // R9: every block read back from the target equalled the bytes sent for it, and with the size that proves
                // the whole file is the bytes the tape's SHA-256 was taken of (as the chunk path proves it).
                (received, proof) = (sha256, TargetProof.ReadBack);
            }
            else if (stripes > 1 || partial is not null)
            {
                (sha256, bytesRead, sizeAtTarget, resumed) = await SendInChunks(session, request, length, tempPath, stripes, partial, watch);
                // R9: the target hashed every chunk as it wrote it (or copied it from the partial), and each equalled the
                // source's; with the size, that proves the whole file is the source's. Hashing it again from the target's
                // disk (its receiver writes around the page cache) cost a 256 MiB copy at 50 ms 14 % of its rate.
                (received, proof) = (sha256, TargetProof.HashedWhileWriting);
            }
            else
            {
                using var hashing = new HashingReadStream(source, watch.Moved, request.Meter);
                var streamed = length >= StreamingThreshold ? await session.TryStream(hashing, length, tempPath, watch.Token) : null;
                if (streamed is null)
                {
                    // Created exclusively first (fails if anything, a link included, has the name); the upload then writes it.
                    if (!survey.ByReceiver)
                        await using (await sftp.OpenAsync(tempPath, FileMode.CreateNew, FileAccess.Write, watch.Token)) { }
                    await sftp.UploadFileAsync(hashing, tempPath, watch.Token);
                }
                (sha256, bytesRead, sizeAtTarget) = (hashing.Sha256Hex(), hashing.BytesRead, streamed?.Size ?? length);
                watch.Moved(); // the upload is done: the hash at the target gets its own full time
                var verifying = Stopwatch.StartNew();
                // A read-back moves bytes too, as long as the upload did: each piece of it counts as movement, so only
                // one that stops is cut as stalled (issue #11: every read-back longer than the limit was).
                (received, proof) = streamed is { Sha256: { } inStream }
                    ? (inStream, TargetProof.HashedWhileWriting)
                    : await session.HashAtTarget(tempPath, watch.Token, () => watch.Moved());
                verification = verifying.Elapsed;
            }

            if (bytesRead != length || File.GetLastWriteTimeUtc(request.SourcePath) != before
                || new FileInfo(request.SourcePath).Length != length)
            {
                await DeleteQuietly(sftp, target, poolDir, tempPath);
                healthy = true;
                return new TransferOutcome.Failed("source tape changed during the transfer; attempt voided");
            }

            if (!string.Equals(received, sha256, StringComparison.Ordinal) || sizeAtTarget != length)
            {
                await DeleteQuietly(sftp, target, poolDir, tempPath);
                return new TransferOutcome.Failed(sizeAtTarget == length
                    ? $"SHA-256 at the target ({received}) differs from the source ({sha256})"
                    : $"the target received {sizeAtTarget} bytes of the source's {length}");
            }

            if (await PutUnderFinalName(session, poolDir, tempPath, finalPath, watch.Token) is { } held)
            {
                await DeleteQuietly(sftp, target, poolDir, tempPath);
                healthy = true;
                return new TransferOutcome.Failed(held.Name == finalPath
                    ? $"the final name {finalPath} on {target.Name} is {held.Holder}; not replaced (R15)"
                    : $"the temporary file {tempPath} on {target.Name} is {held.Holder} now; not renamed (R15)", FailureKind.NotARegularFile);
            }
            // The earlier attempt's file served: gone now (unlinked only; a writer still holding it writes into nothing).
            // By the target's unlink(2) where it can (partials exist only where our receiver runs): a partial swapped for a
            // link since it was listed loses the link, never what it points to.
            if (partial is not null && !await session.UnlinkAtTarget(partial, watch.Token)) await DeleteQuietly(sftp, target, poolDir, partial);
            // The volser's other partials (earlier cuts; a resume takes only the largest) would pile up for ever: they go
            // too, once no attempt can still be writing them. A receiver that did not answer is not in step.
            // Over SFTP alone, those the listing before the copy showed quiet (the one taken over is one no longer).
            if (earlier is not null) await EarlierAttempts.Sweep(sftp, earlier.Stale.Where(f => f != earlier.Resumable), watch.Token);
            healthy = !survey.ByReceiver || await session.SweepAtTarget(poolDir, request.Volser.Value, 2 * target.OperationTimeout, watch.Token);
            return new TransferOutcome.Succeeded(length, sha256, clock.Elapsed, proof, verification, stripes, resumed);
        }
        catch (Exception) when (watch.Stalled && !cancellation.IsCancellationRequested)
        {
            // The connection is closed (that woke the blocked send): the temporary file stays, under its own name.
            return new TransferOutcome.Failed(
                $"transfer to {target.Name} stalled: no bytes moved for {watch.Limit.TotalSeconds:F0} s ({watch.Bytes} of {length} sent); attempt abandoned");
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            if (uploading && !resumable) await DeleteQuietly(sftp, target, poolDir, tempPath);
            return new TransferOutcome.Cancelled("tape mounted during transfer");
        }
        catch (SourceRefusedException refused)
        {
            // The tape was swapped for a link or a FIFO while it was being sent (a second open of it refused it).
            if (uploading) await DeleteQuietly(sftp, target, poolDir, tempPath);
            return new TransferOutcome.Failed(refused.Message, refused.Security ? FailureKind.NotARegularFile : FailureKind.Transfer);
        }
        catch (Exception e)
        {
            var keep = resumable && e is not AttemptVoidedException;
            return new TransferOutcome.Failed(await AfterFault(session, target, poolDir, uploading && !keep ? tempPath : null, length, e));
        }
        finally
        {
            // A session that saw an error or a cancellation is not trusted to be in step: it is closed, not reused.
            if (healthy) _sessions.Return(target, session);
            else session.Dispose();
        }
    }

    /// <summary>What the target holds around a copy before its bytes go: another pool holding the volser (R14), a pool
    /// folder that is not a folder (R15), an earlier attempt's file to resume from (R17), and how far the target is.
    /// <paramref name="ByReceiver"/>: the receiver surveyed, and so also created the temporary file where it found no
    /// problem.</summary>
    private sealed record Survey(string? OtherPool, string? PoolFolderProblem, string? Partial, TimeSpan RoundTrip, bool ByReceiver);

    /// <summary>The survey in one round trip, by the receiver, which also makes the pool folder and creates the
    /// temporary file (at 50 ms the SFTP survey below took 0.85 s before the first byte of a tape, in a vault of one
    /// pool; each pool more costs it another round trip).</summary>
    private static async Task<Survey?> SurveyThroughReceiver(TargetSession session, TransferRequest request, string tempPath,
        CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        if (await session.Begin(request.Target.VaultRoot, request.TargetPool.Value, request.Volser.Value, NameIn(tempPath), cancellation)
            is not { } begun) return null;
        return new Survey(begun.OtherPool, begun.PoolFolderProblem, begun.Partial, clock.Elapsed, ByReceiver: true);
    }

    /// <summary>The survey over SFTP alone (small tapes, and targets without our receiver); no partial is looked for,
    /// as only the chunk path resumes.</summary>
    private static async Task<Survey> SurveyOverSftp(SftpClient sftp, TransferRequest request, string poolDir, CancellationToken cancellation)
    {
        var (otherPool, poolFolder) = await LookAround(sftp, request, cancellation);
        if (otherPool is not null || poolFolder is not null) return new Survey(otherPool, poolFolder, null, TimeSpan.Zero, false);
        return new Survey(null, null, null, await EnsureFolder(sftp, poolDir, cancellation), false);
    }

    /// <summary>One listing of the target's vault root answers two questions. R14: is the volser in another pool there
    /// (a volser is unique across the pools of a VTS system)? R15: is the target pool's folder, if there, a folder and
    /// not a link (the listing shows each entry as it is, not what it points to)? SSH.NET resolves links in every path
    /// it is given, so a linked pool folder would have the tape written wherever it points.</summary>
    private static async Task<(string? OtherPool, string? PoolFolderProblem)> LookAround(SftpClient sftp, TransferRequest request,
        CancellationToken cancellation)
    {
        var root = request.Target.VaultRoot;
        string? problem = null;
        await foreach (var entry in sftp.ListDirectoryAsync(root, cancellation))
        {
            if (entry.Name == request.TargetPool.Value)
            {
                if (!entry.IsDirectory) problem = entry.IsSymbolicLink ? "a symbolic link" : "not a folder";
                continue;
            }
            if (!entry.IsDirectory || entry.Name is "." or "..") continue;
            if (await sftp.ExistsAsync($"{entry.FullName}/{request.Volser}", cancellation)) return (entry.Name, problem);
        }
        return (null, problem);
    }

    /// <summary>The proven copy renamed to its final name in one step (readers see the old tape or the new one), unless
    /// the name is held by a link or anything but a regular file (R15), or the temporary name no longer holds a regular
    /// file. Null when renamed; else the name refused and what holds it.
    /// Where the target runs our receiver, its own rename(2) does it, which never follows a link at either name.
    /// Elsewhere SFTP's posix-rename@openssh.com does, after a look at both names: SSH.NET resolves the links in both
    /// paths of a rename, so renaming onto a link would replace whatever it points to, and renaming a temporary name
    /// swapped for a link would put whatever that points to under the final name.</summary>
    private static async Task<(string Name, string Holder)?> PutUnderFinalName(TargetSession session, string poolDir, string tempPath,
        string finalPath, CancellationToken cancellation)
    {
        if (await session.RenameAtTarget(tempPath, finalPath, cancellation) is { } renamed)
            return renamed.Refused switch
            {
                null => null,
                "link" => (finalPath, "a symbolic link"),
                "folder" => (finalPath, "a folder"),
                "fifo" => (finalPath, "a FIFO"),
                _ => (finalPath, "not a regular file"),
            };
        var listed = await Listed(session.Sftp, poolDir, [NameIn(tempPath), NameIn(finalPath)], cancellation);
        if (listed.GetValueOrDefault(NameIn(tempPath)) is not { } temporary)
            throw new IOException($"the temporary file {tempPath} is gone from the target before its rename");
        if (Holder(temporary) is { } swapped) return (tempPath, swapped);
        if (await FinalNameProblem(session.Sftp, finalPath, listed.GetValueOrDefault(NameIn(finalPath)), cancellation) is { } problem)
            return (finalPath, problem);
        await Task.Run(() => session.Sftp.RenameFile(tempPath, finalPath, isPosix: true), cancellation);
        return null;
    }

    /// <summary>The entries of a pool folder under <paramref name="names"/>, as they are: OpenSSH's sftp-server fills a
    /// listing's attributes from lstat, where SSH.NET resolves the links in every path it is given (REALPATH) before it
    /// stats, renames or removes. Only a listing shows a link under one of our own names.</summary>
    private static async Task<Dictionary<string, ISftpFile>> Listed(SftpClient sftp, string poolDir, IReadOnlyCollection<string> names,
        CancellationToken cancellation)
    {
        var found = new Dictionary<string, ISftpFile>(StringComparer.Ordinal);
        await foreach (var entry in sftp.ListDirectoryAsync(poolDir, cancellation))
            if (names.Contains(entry.Name)) found[entry.Name] = entry;
        return found;
    }

    /// <summary>What a listed entry is when it is not a regular file; null for a regular file.</summary>
    private static string? Holder(ISftpFile entry) =>
        entry.IsRegularFile ? null : entry.IsSymbolicLink ? "a symbolic link" : entry.IsDirectory ? "a folder" : "not a regular file";

    /// <summary>What holds a final name, seen over SFTP alone: null when it is free or a regular file.
    /// <paramref name="listed"/>: the name's entry in a listing of the pool folder, as it is (null: nothing there).</summary>
    private static async Task<string?> FinalNameProblem(SftpClient sftp, string finalPath, ISftpFile? listed, CancellationToken cancellation)
    {
        if (listed is null || !listed.IsSymbolicLink) return listed is null ? null : Holder(listed);
        try
        {
            // Where it points, as SSH.NET resolves it, for the operator.
            return $"a symbolic link to {(await sftp.GetAsync(finalPath, cancellation)).FullName}";
        }
        catch (SftpPathNotFoundException)
        {
            return "a symbolic link"; // to nowhere
        }
    }

    /// <summary>Two transfers into a new target pool may both find it missing: the second mkdir fails (SFTP says only
    /// "Failure"), and the folder is there all the same. Returns one round trip: how far the target is.</summary>
    private static async Task<TimeSpan> EnsureFolder(SftpClient sftp, string folder, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var exists = await sftp.ExistsAsync(folder, cancellation);
        // Two requests, one after the other: SSH.NET resolves the path (REALPATH) before it looks at it (LSTAT).
        var roundTrip = clock.Elapsed / 2;
        if (exists) return roundTrip;
        try
        {
            await sftp.CreateDirectoryAsync(folder, cancellation);
        }
        catch (Renci.SshNet.Common.SshException)
        {
            if (!await sftp.ExistsAsync(folder, cancellation)) throw;
        }
        return roundTrip;
    }

    /// <summary>R17 over SFTP alone: the largest file of the volser that no attempt can still be writing (see
    /// <see cref="EarlierAttempts"/>) replaces this attempt's empty one and is read back once. Returned: the blocks it
    /// holds as the source has them (kept; the copy sends the rest) and how many bytes they are, and what the look found
    /// (the volser's other quiet files go once the copy has succeeded).</summary>
    private static async Task<(EarlierAttempts.Found Earlier, BitArray? Held, long Resumed)> TakeOverEarlierAttempt(SftpClient sftp,
        TransferRequest request, string poolDir, string tempPath, long length, StallWatch watch)
    {
        EarlierAttempts.Found earlier;
        using (watch.SettingUp())
            earlier = await EarlierAttempts.Look(sftp, poolDir, request.Volser.Value, NameIn(tempPath), 2 * request.Target.OperationTimeout,
                length, watch.Token);
        if (earlier.Resumable is not { } taken) return (earlier, null, 0);
        // Listed as a regular file, named as we name them; it replaces this attempt's empty file in one step.
        using (watch.SettingUp()) await Task.Run(() => sftp.RenameFile(taken.FullName, tempPath, isPosix: true), watch.Token);
        var (held, resumed) = await PartialCheck.Run(sftp, tempPath, taken.Length, request.SourcePath, length, () => watch.Moved(), watch.Token);
        watch.Moved(resumed);
        request.Meter?.Resumed(resumed);
        return (earlier, held, resumed);
    }

    /// <summary>A large tape over SFTP alone (<see cref="ReadBackCopy"/>) over <paramref name="count"/> sessions, the
    /// first being <paramref name="first"/>. Returns with the copy how many connections carried it: one that cannot be
    /// had costs the tape only its share.</summary>
    private async Task<(ReadBackCopy.Copied Copied, int Connections)> SendAndReadBack(TargetSession first, TransferRequest request,
        Stream source, long length, string tempPath, int count, StallWatch watch, BitArray? held)
    {
        List<TargetSession> sessions = [first];
        var inStep = false;
        try
        {
            using (watch.SettingUp())
            {
                var renting = Enumerable.Range(1, count - 1).Select(_ => _sessions.Rent(request.Target, watch.Token)).ToList();
                await Task.WhenAll(renting).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
                // A connection the target refused (its MaxStartups, say) leaves the tape to the others.
                sessions.AddRange(renting.Where(r => r.IsCompletedSuccessfully).Select(r => r.Result));
            }
            watch.Token.ThrowIfCancellationRequested();
            // The watch severs the first session when the bytes stop; the others too, to wake a send blocked in SSH.NET.
            await using var severing = watch.Token.Register(() =>
            {
                if (watch.Stalled) foreach (var other in sessions.Skip(1)) other.Sever();
            });
            var copied = await ReadBackCopy.Run(sessions.Select(s => s.Sftp).ToList(), source, length, tempPath, request.Meter, watch, held);
            inStep = true;
            return (copied, sessions.Count);
        }
        finally
        {
            // The first session is the caller's; the others are kept for the next copy when they ended in step.
            foreach (var other in sessions.Skip(1))
                if (inStep) _sessions.Return(request.Target, other);
                else other.Dispose();
        }
    }

    /// <summary>Sends a tape over <paramref name="count"/> sessions at once into <paramref name="tempPath"/> (created by
    /// the receiver's survey), the first
    /// being <paramref name="first"/>, each taking the next chunk not yet taken (see <see cref="Stripes"/>); chunks that
    /// <paramref name="partial"/> (an earlier attempt's file at the target) proves to hold are copied there instead of
    /// sent (R17). Throws with the first cause when any fails; the others are stopped then.</summary>
    private async Task<(string Sha256, long BytesRead, long SizeAtTarget, long Resumed)> SendInChunks(TargetSession first,
        TransferRequest request, long length, string tempPath, int count, string? partial, StallWatch watch)
    {
        var cancellation = watch.Token;
        (IReadOnlyList<(long Offset, long Length)> left, long resumed, long copiedSize, (string, long)? wholeSha) = (Stripes.Chunks(length), 0L, 0L, null);
        if (partial is not null)
        {
            using (watch.SettingUp()) (left, resumed, copiedSize, wholeSha) = await Resume(first, request.SourcePath, length, partial, tempPath, cancellation);
        }
        watch.Moved(resumed);
        request.Meter?.Resumed(resumed);
        count = Math.Clamp(left.Count, 1, count);
        var chunks = new ConcurrentQueue<(long Offset, long Length)>(left);
        // Each other connection waits only for its own session (a new one costs a key exchange and the receiver's start,
        // a few round trips), not for the others'.
        var sessions = Enumerable.Range(0, count).Select(i => Ready(i == 0 ? Task.FromResult(first) : _sessions.Rent(request.Target, cancellation))).ToList();
        async Task<TargetSession> Ready(Task<TargetSession> renting)
        {
            using var _ = watch.SettingUp();
            var session = await renting;
            try
            {
                await session.Prepare(cancellation);
                return session;
            }
            catch when (session != first)
            {
                session.Dispose();
                throw;
            }
        }
        var inStep = new bool[count];
        Exception? firstCause = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        // Stopped (a stall, a chunk lost, a mount): every connection is severed, so that no send stays blocked in SSH.NET.
        await using var severing = stop.Token.Register(() =>
        {
            foreach (var rented in sessions.Where(r => r.IsCompletedSuccessfully)) rented.Result.Sever();
        });
        try
        {
            var whole = wholeSha is { } known ? Task.FromResult(known) : HashWhole(request.SourcePath, stop.Token);
            var sends = sessions.Select(async (rented, i) =>
            {
                try
                {
                    var session = await rented;
                    var size = 0L;
                    while (!stop.IsCancellationRequested && chunks.TryDequeue(out var chunk))
                        size = Math.Max(size, await SendRange(session, request, chunk, tempPath, watch, stop.Token));
                    inStep[i] = true;
                    return size;
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref firstCause, e, null); // the others fail after it, and because of it
                    stop.Cancel(); // one chunk lost is the attempt lost: the others stop now
                    throw;
                }
            }).ToList();
            long[] sizes;
            try
            {
                sizes = await Task.WhenAll(sends);
            }
            catch (Exception) when (!cancellation.IsCancellationRequested && firstCause is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstCause);
                throw;
            }
            var (sha256, bytesRead) = await whole;
            return (sha256, bytesRead, Math.Max(sizes.Max(), copiedSize), resumed);
        }
        finally
        {
            // The first session is the caller's; of the others, one that finished its chunks is in step for the next copy.
            for (var i = 1; i < sessions.Count; i++)
            {
                if (!sessions[i].IsCompletedSuccessfully) continue;
                if (inStep[i]) _sessions.Return(request.Target, sessions[i].Result);
                else sessions[i].Result.Dispose();
            }
        }
    }

    /// <summary>R17: the parts of an earlier attempt's file at the target that hold exactly what the source has now are
    /// copied into this attempt's file, at the target (no byte crosses the link), each proven by the hash of what was
    /// copied; the rest is left to send. Parts are <see cref="Stripes.ResumeUnit"/>s, not chunks: a cut leaves every
    /// connection's chunk part-written (a node killed mid-copy far away left four chunks each three quarters written,
    /// and not one whole). A source that changed since has other hashes: its parts are sent again. A unit the earlier
    /// writer had not reached reads as zeros, and is taken only where the source holds zeros too. That writer may still
    /// be writing (a cut is seen here before at the target): what it writes is checked by the copy's own hash.
    /// The source's own hashes come from one read of it, which also gives the tape's SHA-256.</summary>
    private static async Task<(IReadOnlyList<(long Offset, long Length)> Left, long Resumed, long SizeAtTarget, (string, long)? Whole)> Resume(
        TargetSession session, string sourcePath, long length, string partial, string tempPath, CancellationToken cancellation)
    {
        var units = Stripes.Chunks(length, Stripes.ResumeUnit);
        if (await session.ChunkHashes(partial, Stripes.ResumeUnit, cancellation) is not { } theirs) return (Stripes.Chunks(length), 0, 0, null);
        var (sha256, read, ours) = await Stripes.HashFile(sourcePath, chunks: true, cancellation, Stripes.ResumeUnit);
        var proven = units.Select((unit, i) => (unit, i))
            .Where(u => u.i < theirs.Hashes.Count && u.i < ours.Count && theirs.Hashes[u.i] == ours[u.i]
                        && theirs.Size >= u.unit.Offset + u.unit.Length)
            .ToList();
        var copied = proven.Count == 0 ? [] : await session.CopyAtTarget(partial, tempPath, proven.Select(u => u.unit).ToList(), cancellation);
        var kept = proven.Where((u, k) => copied[k] is TargetWriter.Report.Written { Sha256: { } sha } && sha == ours[u.i])
            .Select(u => u.i).ToHashSet();
        var left = Stripes.ToSend(units.Where((_, i) => !kept.Contains(i)));
        var size = copied.OfType<TargetWriter.Report.Written>().Select(w => w.Size ?? 0).DefaultIfEmpty(0).Max();
        return (left, kept.Sum(i => units[i].Length), size, (sha256, read));
    }

    private static async Task<(string, long)> HashWhole(string path, CancellationToken cancellation)
    {
        var (sha256, length, _) = await Stripes.HashFile(path, chunks: false, cancellation);
        return (sha256, length);
    }

    /// <summary>One chunk of the source, hashed as it is read, into the target's file at its offset. The target's size
    /// of the file after it.</summary>
    private static async Task<long> SendRange(TargetSession session, TransferRequest request, (long Offset, long Length) range,
        string tempPath, StallWatch watch, CancellationToken cancellation)
    {
        await using var source = SourceTape.Open(request.SourcePath);
        source.Seek(range.Offset, SeekOrigin.Begin);
        using var hashing = new HashingReadStream(source, watch.Moved, request.Meter);
        var written = await session.TryStream(hashing, range.Length, tempPath, cancellation, range.Offset)
                      ?? throw new IOException("the target stopped running our receiver");
        if (written.Sha256 != hashing.Sha256Hex())
            throw new AttemptVoidedException($"SHA-256 at the target ({written.Sha256}) of bytes {range.Offset}-{range.Offset + range.Length} " +
                                  $"differs from the source ({hashing.Sha256Hex()})");
        return written.Size ?? 0;
    }

    private static string NameIn(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>Reconcile: one listing of the target pool's folder over a pooled session (host key pinned as for
    /// every copy). The listing shows each entry as it is: a link at a tape's name is not a tape there.</summary>
    public Task<IReadOnlyList<TargetFile>> ListPool(TargetSettings target, PoolName targetPool, CancellationToken cancellation) =>
        InPooledSession<IReadOnlyList<TargetFile>>(target, cancellation, async session =>
        {
            var folder = PoolFolder(target, targetPool);
            var files = new List<TargetFile>();
            if (await session.Sftp.ExistsAsync(folder, cancellation))
                await foreach (var entry in session.Sftp.ListDirectoryAsync(folder, cancellation))
                    if (entry.IsRegularFile) files.Add(new TargetFile(entry.Name, entry.Length));
            return files;
        });

    /// <summary>Reconcile's content check: the target hashes the pool's files in place, a batch at a time in one process
    /// (a core of the target's at most); only the names and the hashes cross the link.</summary>
    public Task<IReadOnlyList<string?>> HashInPlace(TargetSettings target, PoolName targetPool, IReadOnlyList<string> volsers,
        CancellationToken cancellation) =>
        InPooledSession(target, cancellation, async session =>
        {
            // Bounded, so a target that stops answering cannot hold a reconcile for ever: the operation timeout per tape.
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            deadline.CancelAfter(target.OperationTimeout * Math.Max(1, volsers.Count));
            return await session.HashInPlace(PoolFolder(target, targetPool), volsers, deadline.Token);
        });

    private static string PoolFolder(TargetSettings target, PoolName targetPool) => $"{target.VaultRoot.TrimEnd('/')}/{targetPool}";

    /// <summary>Work on a pooled session: returned to the pool when the work succeeds, closed when it fails (it may be
    /// left mid-answer).</summary>
    private async Task<T> InPooledSession<T>(TargetSettings target, CancellationToken cancellation, Func<TargetSession, Task<T>> work)
    {
        var session = await _sessions.Rent(target, cancellation);
        var healthy = false;
        try
        {
            var result = await work(session);
            healthy = true;
            return result;
        }
        finally
        {
            if (healthy) _sessions.Return(target, session);
            else session.Dispose();
        }
    }

    /// <summary>Cleans up after a failed attempt and names its cause as the target's file system shows it
    /// (<see cref="TargetFault"/>). A session the fault severed (a writer that died closes its channel, and SSH.NET the
    /// connection) is replaced by a fresh one for both.</summary>
    private async Task<string> AfterFault(TargetSession session, TargetSettings target, string poolDir, string? tempPath, long length,
        Exception fault)
    {
        using var time = new CancellationTokenSource(target.OperationTimeout);
        TargetSession? fresh = null;
        try
        {
            var sftp = session.IsConnected ? session.Sftp : (fresh = await _sessions.Rent(target, time.Token)).Sftp;
            if (tempPath is not null) await DeleteQuietly(sftp, target, poolDir, tempPath);
            var cause = await TargetFault.Explain(sftp, target, poolDir, length, fault, time.Token);
            if (fresh is not null) _sessions.Return(target, fresh);
            fresh = null;
            return cause;
        }
        catch (Exception)
        {
            return $"transfer to {target.Name} failed: {fault.Message}"; // the target cannot be reached to ask
        }
        finally
        {
            fresh?.Dispose();
        }
    }

    /// <summary>Removes a temporary file of ours over SFTP, and only a regular file: SSH.NET resolves a link in the path
    /// it removes, so a name swapped for a link would cost whatever the link points to. A name the listing shows as
    /// anything else is left for the operator.</summary>
    private static async Task DeleteQuietly(SftpClient sftp, TargetSettings target, string poolDir, string path)
    {
        try
        {
            // The listing of a pool folder of many tapes takes a round trip per hundred or so entries: the target's own
            // operation timeout bounds it, as it bounds every step of a copy there.
            using var timeout = new CancellationTokenSource(target.OperationTimeout);
            if (!sftp.IsConnected) return;
            if ((await Listed(sftp, poolDir, [NameIn(path)], timeout.Token)).GetValueOrDefault(NameIn(path)) is not { IsRegularFile: true }) return;
            await sftp.DeleteFileAsync(path, timeout.Token);
        }
        catch (Exception)
        {
            // A leftover temporary file is harmless: it never carries the final name, and each attempt writes a name of
            // its own. Where our receiver runs, a later copy of the volser resumes from it or removes it (R17).
        }
    }
}

/// <summary>An attempt's temporary file is not kept for a resume (R17): the source changed under it, the target holds
/// other bytes than the source's, or the target could not write them (a full disk gets its room back). It is removed,
/// where a cut (a cancellation, a lost connection) leaves it for the next attempt.</summary>
internal sealed class AttemptVoidedException(string message) : IOException(message);
