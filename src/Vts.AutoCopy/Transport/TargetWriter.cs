using System.Text;
using Renci.SshNet;

namespace Vts.AutoCopy.Transport;

/// <summary>Where a large tape's bytes go at the target, and what the target says it wrote. Where the target has
/// python3, a small receiver started once per session writes each tape and hashes it in the same pass, so the proof
/// costs no second read and no wait after the upload (<see cref="HashingReceiver"/>); elsewhere each tape streams
/// into <c>cat</c> and the target hashes the file afterwards.</summary>
/// <remarks>Measured on the loopback target (1 GiB, 2 cores): <c>cat</c> into the page cache and <c>openssl dgst</c>
/// afterwards cost 3.9–4.4 s of CPU and about 1 s of waiting after the upload; the receiver costs 1.9–2.1 s, all of
/// it while the bytes arrive. Most of the difference is the page cache: filling fresh pages costs the kernel 2–3.5 s
/// per GiB on this virtual machine, and the receiver writes around it (O_DIRECT, where the file system takes it).
/// Started once per session, it also spares each tape the user's shell start-up and python's (0.8–1.2 s of CPU
/// here, where the login shell initialises pyenv).</remarks>
internal static class TargetWriter
{
    /// <summary>Where the target's python3 is looked for unless told otherwise: on the user's PATH.</summary>
    public const string Python = "python3";

    /// <summary>The longest line the receiver may print. More is not trusted.</summary>
    public const int MaxLine = 512;

    /// <summary>What the receiver prints first, once it runs.</summary>
    public const string Ready = "ready 3";

    /// <summary>The receiver, run as <c>python3 -c '&lt;this&gt;'</c>: no single quote may appear in it.</summary>
    /// <remarks>
    /// It says <see cref="Ready"/>, then for each tape (or range of one) reads a line "SIZE AT PATH" and exactly SIZE
    /// bytes, and answers one line: "sha256 HEX SIZE" once the bytes are written and synced (HEX of the bytes it read,
    /// SIZE of the file as the file system has it then), or "error REASON" when they could not be. It always reads all
    /// SIZE bytes, so one that cannot be written leaves the stream in step for the next.
    /// - AT = "new": a file left at PATH is unlinked first and the new one created exclusively: a writer still holding
    ///   the old one (a session cut mid-tape) cannot write into the tape being proven.
    /// - AT = an offset: the bytes go at that offset into the regular file already at PATH (several sessions write the
    ///   chunks of one tape at once); a link or anything but a regular file there is refused, never written through.
    /// Two more requests serve a resumed copy (R17), reading only files that are regular files, never through a link:
    /// - "chunks CHUNK PATH": the SHA-256 of each CHUNK bytes of the file at PATH (the last may be short), answered as
    ///   "chunks SIZE", then a line of hex per chunk as each is read (an "error REASON" line ends it early); or, when
    ///   the file cannot be opened, "error REASON" alone.
    /// - "copy OFFSET LENGTH", then the lines FROM and PATH: those bytes of FROM copied into the file at PATH at the same
    ///   offset and synced, answered like a write ("sha256 HEX SIZE", the hash of the bytes copied).
    /// One request opens a copy of a large tape, in one round trip where SFTP takes a dozen or more (a listing costs
    /// four, an existence check two, and R14 asks one per pool there):
    /// - "begin", then the lines ROOT, POOL, VOLSER and TEMP: R14, is VOLSER in a pool folder of ROOT other than POOL
    ///   (answered "other NAME")? R15, is ROOT/POOL anything but a folder (a link, a file: "pool link" or "pool other";
    ///   nothing is created through it)? Else the pool folder is made if missing, TEMP created in it exclusively (never
    ///   through a link), and the answer is "begun SIZE NAME": the largest temporary file an earlier attempt at VOLSER
    ///   left there (R17; a regular file named as we name them, "-" and 0 when none). A pool folder there that cannot be
    ///   searched is an error, not a "no"; another pool's name is sent escaped to one line of ASCII, whatever its bytes.
    /// And one more puts a proven copy under its final name (R15):
    /// - "rename", then the lines FROM and PATH: FROM (a regular file) renamed to PATH unless PATH is there as anything
    ///   but a regular file; answered "renamed", or "refused KIND" (a link, a folder…: PATH is left as it is), or
    ///   "error REASON". rename(2) replaces the name itself and never follows a link there; SFTP clients resolve links.
    /// - "unlink", then the line PATH: PATH removed (a link there is removed itself, never what it points to); answered
    ///   "unlinked" or "error REASON".
    /// - "sweep", then the lines FOLDER, VOLSER and AGE: the temporary files of VOLSER's attempts in FOLDER (opened with
    ///   O_NOFOLLOW) that are regular files not modified for AGE seconds are removed (R17: partials of earlier cuts no
    ///   resume took); answered "swept COUNT" or "error REASON".
    /// - The bytes are read into page-aligned 1 MiB buffers (O_DIRECT needs aligned memory, offsets and lengths); only
    ///   a tape's last, short buffer is written without O_DIRECT.
    /// - A second thread writes while the first reads and hashes the next buffer: hashlib and os.write release the GIL.
    /// - The pipe from sshd is widened to 1 MiB (F_SETPIPE_SZ = 1031) so it wakes the receiver less often.
    /// - fsync before answering: a proven copy is on the target's disk before it is renamed to its final name.
    /// </remarks>
    private const string Receiver = """
        import errno, fcntl, hashlib, mmap, os, queue, re, stat, sys, threading, time
        DIRECT = getattr(os, "O_DIRECT", 0)
        size = 1 << 20
        try:
            fcntl.fcntl(0, 1031, size)
        except OSError:
            pass
        free, full = queue.Queue(), queue.Queue()
        for _ in range(4):
            free.put(memoryview(mmap.mmap(-1, size)))
        def direct(fd, on):
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags | DIRECT if on else flags & ~DIRECT)
        def write(fd, failed):
            while True:
                item = full.get()
                if item is None:
                    return
                view, n = item
                try:
                    if not failed and n % 4096:
                        direct(fd, False)
                    done = 0
                    while not failed and done < n:
                        try:
                            done += os.write(fd, view[done:n])
                        except OSError as e:
                            if e.errno != errno.EINVAL or not fcntl.fcntl(fd, fcntl.F_GETFL) & DIRECT:
                                raise
                            direct(fd, False)
                except BaseException as e:
                    failed.append(e)
                free.put(view)
        def line():
            text = b""
            while not text.endswith(b"\n"):
                c = os.read(0, 1)
                if not c or len(text) > 4096:
                    os._exit(0 if not text else 2)
                text += c
            return text[:-1].decode()
        def regular(path, flags):
            fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EINVAL, "not a regular file")
            return fd
        def copy(offset, length, source, path):
            sha, src, dst = hashlib.sha256(), regular(source, os.O_RDONLY), -1
            try:
                dst = regular(path, os.O_WRONLY)
                at = offset
                while at < offset + length:
                    data = os.pread(src, min(size, offset + length - at), at)
                    if not data:
                        raise OSError(errno.EIO, "the earlier file is shorter than its proven chunks")
                    sha.update(data)
                    os.pwrite(dst, data, at)
                    at += len(data)
                os.fsync(dst)
                return sha.hexdigest(), os.fstat(dst).st_size
            finally:
                os.close(src)
                if dst >= 0:
                    os.close(dst)
        def held(path):
            try:
                os.lstat(path)
                return True
            except FileNotFoundError:
                return False
        def begin(root, pool, volser, temp):
            with os.scandir(root) as entries:
                for entry in entries:
                    if entry.name == pool:
                        if not entry.is_dir(follow_symlinks=False):
                            return "pool link" if entry.is_symlink() else "pool other"
                    elif entry.is_dir(follow_symlinks=False) and held(os.path.join(root, entry.name, volser)):
                        return "other " + entry.name.encode("unicode_escape").decode("ascii")[:400]
            try:
                os.mkdir(os.path.join(root, pool))
            except FileExistsError:
                pass
            folder = os.open(os.path.join(root, pool), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                partial, largest = "-", 0
                ours = re.compile(re.escape("." + volser + ".") + "[0-9a-f]{16}" + re.escape(".autocopy.tmp"))
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name != temp and ours.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                            try:
                                size = entry.stat(follow_symlinks=False).st_size
                            except FileNotFoundError:
                                continue
                            if size > largest:
                                partial, largest = entry.name, size
                os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder))
                return "begun %d %s" % (largest, partial)
            finally:
                os.close(folder)
        def sweep(folder, volser, age):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                ours = re.compile(re.escape("." + volser + ".") + "[0-9a-f]{16}" + re.escape(".autocopy.tmp"))
                removed, before = 0, time.time() - age
                with os.scandir(fd) as entries:
                    for entry in entries:
                        if not ours.fullmatch(entry.name):
                            continue
                        try:
                            found = entry.stat(follow_symlinks=False)
                            if stat.S_ISREG(found.st_mode) and found.st_mtime < before:
                                os.unlink(entry.name, dir_fd=fd)
                                removed += 1
                        except FileNotFoundError:
                            continue
                return "swept %d" % removed
            finally:
                os.close(fd)
        print("ready 3", flush=True)
        while True:
            head = line()
            if head == "begin":
                root, pool, volser, temp = line(), line(), line(), line()
                try:
                    print(begin(root, pool, volser, temp), flush=True)
                except OSError as e:
                    print("error", e.strerror or e, flush=True)
                continue
            if head.startswith("chunks "):
                _, chunk, path = head.split(" ", 2)
                chunk = int(chunk)
                try:
                    fd = regular(path, os.O_RDONLY)
                    end = os.fstat(fd).st_size
                except OSError as e:
                    print("error", e.strerror or e, flush=True)
                    continue
                print("chunks", end, flush=True)
                try:
                    for start in range(0, end, chunk):
                        sha, at = hashlib.sha256(), start
                        while at < min(start + chunk, end):
                            data = os.pread(fd, min(size, start + chunk - at), at)
                            if not data:
                                break
                            sha.update(data)
                            at += len(data)
                        print(sha.hexdigest(), flush=True)
                except OSError as e:
                    print("error", e.strerror or e, flush=True)
                finally:
                    os.close(fd)
                continue
            if head == "sweep":
                folder, volser, age = line(), line(), line()
                try:
                    print(sweep(folder, volser, int(age)), flush=True)
                except (OSError, ValueError) as e:
                    print("error", getattr(e, "strerror", None) or e, flush=True)
                continue
            if head == "unlink":
                path = line()
                try:
                    os.unlink(path)
                    print("unlinked", flush=True)
                except OSError as e:
                    print("error", e.strerror or e, flush=True)
                continue
            if head == "rename":
                source, path = line(), line()
                try:
                    if not stat.S_ISREG(os.lstat(source).st_mode):
                        raise OSError(errno.EINVAL, "the temporary file is not a regular file")
                    try:
                        mode = os.lstat(path).st_mode
                    except FileNotFoundError:
                        mode = None
                    if mode is not None and not stat.S_ISREG(mode):
                        kinds = ((stat.S_ISLNK, "link"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "fifo"))
                        print("refused", next((k for test, k in kinds if test(mode)), "special"), flush=True)
                        continue
                    os.rename(source, path)
                    print("renamed", flush=True)
                except OSError as e:
                    print("error", e.strerror or e, flush=True)
                continue
            if head.startswith("copy "):
                _, offset, length = head.split(" ")
                source, path = line(), line()
                try:
                    print("sha256 %s %d" % copy(int(offset), int(length), source, path), flush=True)
                except OSError as e:
                    print("error", e.strerror or e, flush=True)
                continue
            length, at, path = head.split(" ", 2)
            left, failed, fd = int(length), [], -1
            try:
                if at == "new":
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                    flags, mode = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644
                else:
                    flags, mode = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK, 0
                try:
                    fd = os.open(path, flags | DIRECT, mode)
                except OSError:
                    fd = os.open(path, flags, mode)
                if at != "new":
                    if not stat.S_ISREG(os.fstat(fd).st_mode):
                        raise OSError(errno.EINVAL, "not a regular file")
                    os.lseek(fd, int(at), os.SEEK_SET)
            except OSError as e:
                failed.append(e)
            writer = threading.Thread(target=write, args=(fd, failed), daemon=True)
            writer.start()
            sha = hashlib.sha256()
            while left > 0:
                view = free.get()
                want, n = min(size, left), 0
                while n < want:
                    got = os.readv(0, [view[n:want]])
                    if got == 0:
                        os._exit(1)
                    n += got
                sha.update(view[:n])
                full.put((view, n))
                left -= n
            full.put(None)
            writer.join()
            written = -1
            try:
                if fd >= 0:
                    if not failed:
                        os.fsync(fd)
                        written = os.fstat(fd).st_size
                    os.close(fd)
            except OSError as e:
                failed.append(e)
            if failed:
                print("error", getattr(failed[0], "strerror", None) or failed[0], flush=True)
            else:
                print("sha256", sha.hexdigest(), written, flush=True)
        """;

    /// <summary>The command that starts the receiver with <paramref name="python"/>, or says it cannot.</summary>
    public static string ReceiverCommand(string python)
    {
        var interpreter = ShellQuote(python);
        return $"if command -v {interpreter} >/dev/null 2>&1; then exec {interpreter} -c '{Receiver}'; else echo no python3; fi";
    }

    /// <summary>The command that writes one tape's bytes to <paramref name="path"/> without hashing them. noclobber: the
    /// shell creates a missing file exclusively (O_EXCL) and refuses a regular file already there.</summary>
    /// <remarks>R15: noclobber still opens a FIFO or a device already at the name (or a link to one) and writes into
    /// it: POSIX leaves anything but a regular file to the open. The name is this attempt's own, random, and made just
    /// before the command runs, so something would have to be put there in that moment under a name not yet known; a
    /// check first would leave the same moment open. The receiver's exclusive create does not have it.</remarks>
    public static string CatCommand(string path) => $"set -C; exec cat > {ShellQuote(path)}";

    /// <summary>A request of lines to the receiver; none may hold a line break or NUL (paths come from validated names).</summary>
    public static byte[] Request(params string[] lines)
    {
        foreach (var line in lines)
            if (line.Contains('\n') || line.Contains('\r') || line.Contains('\0'))
                throw new ArgumentException($"a request line may not hold a line break or NUL: {line}", nameof(lines));
        return Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));
    }

    public static bool IsSha256(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigitLower);

    public static bool IsCount(string text) => text.Length is > 0 and <= 18 && text.All(char.IsAsciiDigit);

    /// <summary>One argument for a POSIX shell, whatever it holds.</summary>
    public static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''") + "'";

    /// <summary>The line that announces a tape to the receiver. Paths come from validated pool names, volsers and the
    /// configured vault root; one that could break the line is refused here rather than sent.</summary>
    /// <param name="offset">where in the file already at <paramref name="path"/> the bytes go; null for a new file.</param>
    public static byte[] Header(long length, string path, long? offset = null) =>
        Request($"{length} {(offset is { } at ? at.ToString(System.Globalization.CultureInfo.InvariantCulture) : "new")} {path}");

    /// <summary>One line of what the receiver printed, without its newline; null when it printed nothing more. Reads
    /// byte by byte, so nothing past the line is taken from the stream, and no more than <paramref name="limit"/>
    /// bytes: a longer line comes back cut at <paramref name="limit"/> + 1, which no parser accepts.</summary>
    public static async Task<string?> ReadLine(Stream output, CancellationToken cancellation, int limit = MaxLine)
    {
        var line = new byte[limit + 1];
        var one = new byte[1];
        var n = 0;
        while (await output.ReadAsync(one, cancellation) == 1)
        {
            if (one[0] == (byte)'\n') return Encoding.ASCII.GetString(line, 0, n);
            line[n++] = one[0];
            if (n > limit) return Encoding.ASCII.GetString(line, 0, n);
        }
        return n == 0 ? null : Encoding.ASCII.GetString(line, 0, n);
    }

    /// <summary>Reads the receiver's answer for one tape.</summary>
    public static Report Parse(string? line)
    {
        if (line is null) return new Report.Garbled("the target's receiver ended without answering");
        if (line.Length > MaxLine) return new Report.Garbled("the target's answer is longer than it may be");
        if (line.StartsWith("error ", StringComparison.Ordinal)) return new Report.Refused(Printable(line["error ".Length..]));
        if (line.Split(' ') is ["sha256", var hex, var count] && IsSha256(hex) && IsCount(count))
            return new Report.Written(hex, long.Parse(count));
        return new Report.Garbled("the target's answer is not a SHA-256 and a size");
    }

    /// <summary>What the receiver found and did on "begin": another pool holding the volser (R14), what the pool
    /// folder is instead of a folder (R15; nothing was created then), or the temporary file created and the largest
    /// earlier attempt's file (R17; its name in the pool folder).</summary>
    public sealed record Begun(string? OtherPool, string? PoolFolderProblem, string? Partial, long PartialSize);

    /// <summary>Reads the receiver's answer to "begin".</summary>
    /// <exception cref="IOException">an error at the target, or an answer that is none of the above.</exception>
    public static Begun ParseBegun(string? line, string pool)
    {
        switch (line?.Split(' ', 3))
        {
            case ["begun", var size, var partial] when IsCount(size) && (partial == "-" ? size == "0" : IsTemporaryName(partial)):
                return new Begun(null, null, partial == "-" ? null : partial, long.Parse(size));
            case ["other", ..] when line!.Length > "other ".Length && line.Length <= MaxLine:
                return new Begun(Printable(line["other ".Length..]), null, null, 0);
            case ["pool", "link"]:
                return new Begun(null, "a symbolic link", null, 0);
            case ["pool", "other"]:
                return new Begun(null, "not a folder", null, 0);
        }
        throw new IOException(Parse(line) is Report.Refused refused
            ? $"the target could not prepare pool folder {pool} for the copy: {refused.Reason}"
            : $"the target's receiver answered the start of a copy with something else: {Printable(line ?? "nothing")}");
    }

    /// <summary>A temporary file's name as <see cref="SftpTapeTransport.TemporaryName"/> makes it, for any volser.</summary>
    private static bool IsTemporaryName(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, @"^\.[A-Z0-9]{1,6}\.[0-9a-f]{16}\.autocopy\.tmp$");

    public static string Printable(string text)
    {
        var clean = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length <= 200 ? clean : clean[..200] + "…";
    }

    public abstract record Report
    {
        /// <summary>The bytes are written; <paramref name="Sha256"/> and <paramref name="Size"/> are what the target
        /// received and wrote, or null where <c>cat</c> wrote them and the file must still be hashed.</summary>
        public sealed record Written(string? Sha256, long? Size) : Report;

        /// <summary>The target could not write the file; <paramref name="Reason"/> is its own word for it.</summary>
        public sealed record Refused(string Reason) : Report;

        /// <summary>The receiver did not say what it must: it is not trusted with another tape.</summary>
        public sealed record Garbled(string Problem) : Report;
    }
}

/// <summary>The receiver of <see cref="TargetWriter"/>, running at the target for one session's tapes, one at a time.</summary>
internal sealed class HashingReceiver : IDisposable
{
    private readonly SessionCommand _command;

    private HashingReceiver(SessionCommand command) => _command = command;

    /// <summary>Starts the receiver; null when the target has no such python or it would not run there. Throws a
    /// <see cref="TimeoutException"/> when nothing came back within <paramref name="timeout"/>.</summary>
    public static async Task<HashingReceiver?> Start(SshClient shell, string python, TimeSpan timeout, CancellationToken cancellation)
    {
        var command = SessionCommand.Start(shell, TargetWriter.ReceiverCommand(python));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(timeout);
        try
        {
            var line = await command.ReadLine(deadline.Token);
            if (line == TargetWriter.Ready) return new HashingReceiver(command);
            if (line is null)
            {
                // Nothing at all: the command ended (no receiver there), or the connection did (say so, and keep trying).
                await Task.WhenAny(command.Running, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None));
                if (command.ExitStatus is null)
                {
                    command.Dispose();
                    throw new IOException("the connection to the target was lost while its receiver started");
                }
            }
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            // Silent past the timeout: a python that hangs there, or a link that went dark; the caller tells which.
            command.Dispose();
            throw new TimeoutException($"the target's receiver did not start within {timeout.TotalSeconds:F0} s");
        }
        command.Dispose();
        return null;
    }

    /// <summary>Sends exactly <paramref name="length"/> bytes of <paramref name="source"/> as the tape at
    /// <paramref name="path"/> and returns the receiver's answer. <paramref name="abandon"/> ends the connection when
    /// the stream cannot go on in step, or an answer is overdue: SSH.NET waits out its own timeout for window space
    /// that a receiver no longer reading never gives, and does not watch a token while it waits for output; only the
    /// end of the connection wakes either.</summary>
    public async Task<TargetWriter.Report> Receive(Stream source, long length, string path, long? offset, Action abandon,
        TimeSpan timeout, CancellationToken cancellation)
    {
        var sending = Task.Run(() => Send(source, length, path, offset, cancellation), CancellationToken.None);
        // Read without a token: a stop abandons the whole connection (below), which ends the read as well.
        var reading = TargetWriter.ReadLine(_command.Output, CancellationToken.None);
        foreach (var task in new[] { sending, reading }) _ = task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        await using var abandoning = stop.Token.Register(() => Task.Run(abandon)); // as in Start: not on the canceller's thread

        await Task.WhenAny(sending, reading);
        // An answer can overtake the sender's own completion by a moment: give it that moment.
        if (!sending.IsCompleted) await Task.WhenAny(sending, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None));

        if (!sending.IsCompleted)
        {
            // The receiver answered or ended without taking the whole tape.
            abandon();
            try { await sending; }
            catch (Exception) { /* the connection was ended under it */ }
            cancellation.ThrowIfCancellationRequested();
            var early = reading.IsCompletedSuccessfully ? reading.Result : null;
            if (early is null && await Lost()) throw new IOException("the connection to the target was lost during the transfer");
            return new TargetWriter.Report.Garbled(early is null
                ? "the target's receiver ended before it had the whole tape"
                : $"the target's receiver answered before it had the whole tape: {TargetWriter.Printable(early)}");
        }
        if (!sending.IsCompletedSuccessfully)
        {
            // Cut short on this side (the source, the connection, a cancellation): the receiver waits for the rest.
            abandon();
            cancellation.ThrowIfCancellationRequested(); // a cancelled send may fail with whatever SSH.NET threw
            await sending;
        }

        stop.CancelAfter(timeout); // the answer comes once the last byte is written and synced
        string? answer;
        try
        {
            answer = await reading;
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
            answer = null; // closed under the read
        }
        cancellation.ThrowIfCancellationRequested();
        if (answer is null && stop.IsCancellationRequested)
            return new TargetWriter.Report.Garbled($"the target's receiver did not answer within {timeout.TotalSeconds:F0} s");
        if (answer is null && await Lost()) throw new IOException("the connection to the target was lost before the target answered");
        return TargetWriter.Parse(answer);
    }

    /// <summary>True when the channel closed without the receiver exiting: the connection went, not the receiver.</summary>
    private async Task<bool> Lost()
    {
        await Task.WhenAny(_command.Running, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None));
        return _command.ExitStatus is null;
    }

    private async Task Send(Stream source, long length, string path, long? offset, CancellationToken cancellation)
    {
        await _command.Input.WriteAsync(TargetWriter.Header(length, path, offset), cancellation);
        var buffer = new byte[1 << 20];
        for (var left = length; left > 0;)
        {
            var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellation);
            if (n == 0) throw new AttemptVoidedException("the source tape got shorter during the transfer");
            await _command.Input.WriteAsync(buffer.AsMemory(0, n), cancellation);
            left -= n;
        }
    }

    /// <summary>The SHA-256 of each <paramref name="chunk"/> bytes of the file at <paramref name="path"/> as the target
    /// holds it, and the file's size (R17: what an earlier attempt left there). Null when the target cannot read it;
    /// fewer hashes than chunks when it stopped reading. Each line must come within <paramref name="timeout"/>.</summary>
    public async Task<(long Size, IReadOnlyList<string> Hashes)?> Chunks(string path, long chunk, TimeSpan timeout,
        CancellationToken cancellation)
    {
        await _command.Input.WriteAsync(TargetWriter.Request($"chunks {chunk} {path}"), cancellation);
        var head = await ReadLine(timeout, cancellation);
        if (head is not null && head.StartsWith("error ", StringComparison.Ordinal)) return null;
        if (head?.Split(' ') is not ["chunks", var digits] || !TargetWriter.IsCount(digits))
            throw new IOException($"the target's receiver answered a request for chunk hashes with: {TargetWriter.Printable(head ?? "nothing")}");
        var size = long.Parse(digits);
        var hashes = new List<string>();
        for (var left = (size + chunk - 1) / chunk; left > 0; left--)
        {
            var line = await ReadLine(timeout, cancellation);
            if (line is not null && TargetWriter.IsSha256(line)) hashes.Add(line);
            else if (line is not null && line.StartsWith("error ", StringComparison.Ordinal)) break;
            else throw new IOException($"the target's receiver sent a chunk hash that is not one: {TargetWriter.Printable(line ?? "nothing")}");
        }
        return (size, hashes);
    }

    /// <summary>Copies byte ranges of <paramref name="from"/> into the file at <paramref name="path"/>, at the same
    /// offsets, at the target: no byte crosses the link. The requests go together and the answers come in order, each
    /// the SHA-256 of the bytes it copied.</summary>
    /// <summary>R15: <paramref name="from"/> renamed to <paramref name="path"/> at the target, unless a link or anything
    /// but a regular file holds that name. Null when renamed; else what holds the name ("link", "folder", "fifo",
    /// "special").</summary>
    /// <exception cref="IOException">the target could not rename, or its answer made no sense.</exception>
    public async Task<string?> Rename(string from, string path, TimeSpan timeout, CancellationToken cancellation)
    {
        await _command.Input.WriteAsync(TargetWriter.Request("rename", from, path), cancellation);
        var answer = await ReadLine(timeout, cancellation);
        return answer switch
        {
            "renamed" => null,
            ['r', 'e', 'f', 'u', 's', 'e', 'd', ' ', .. var kind] when kind is "link" or "folder" or "fifo" or "special" => kind,
            _ => throw new IOException(TargetWriter.Parse(answer) is TargetWriter.Report.Refused refused
                ? $"the target could not rename {from} to {path}: {refused.Reason}"
                : $"the target's receiver answered a rename with something else: {TargetWriter.Printable(answer ?? "nothing")}"),
        };
    }

    /// <summary>R14, R15 and R17 in one round trip, and this attempt's temporary file created (see the receiver's
    /// "begin").</summary>
    /// <exception cref="IOException">the target could not look or create, or its answer made no sense.</exception>
    public async Task<TargetWriter.Begun> Begin(string root, string pool, string volser, string temporaryName, TimeSpan timeout,
        CancellationToken cancellation)
    {
        await _command.Input.WriteAsync(TargetWriter.Request("begin", root, pool, volser, temporaryName), cancellation);
        return TargetWriter.ParseBegun(await ReadLine(timeout, cancellation), pool);
    }

    /// <summary>R17: the temporary files of <paramref name="volser"/>'s attempts in <paramref name="folder"/> that are
    /// regular files not modified for <paramref name="age"/> removed at the target (see the receiver's "sweep"); how
    /// many.</summary>
    /// <exception cref="IOException">the target could not look, or its answer made no sense.</exception>
    public async Task<int> Sweep(string folder, string volser, TimeSpan age, TimeSpan timeout, CancellationToken cancellation)
    {
        await _command.Input.WriteAsync(TargetWriter.Request("sweep", folder, volser, ((long)age.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)), cancellation);
        var answer = await ReadLine(timeout, cancellation);
        return answer?.Split(' ') is ["swept", var count] && TargetWriter.IsCount(count) && int.TryParse(count, out var n)
            ? n
            : throw new IOException($"the target's receiver answered a sweep with: {TargetWriter.Printable(answer ?? "nothing")}");
    }

    /// <summary>R15: <paramref name="path"/> removed at the target by unlink(2); true when it was.</summary>
    public async Task<bool> Unlink(string path, TimeSpan timeout, CancellationToken cancellation)
    {
        await _command.Input.WriteAsync(TargetWriter.Request("unlink", path), cancellation);
        return await ReadLine(timeout, cancellation) == "unlinked";
    }

    public async Task<IReadOnlyList<TargetWriter.Report>> Copy(string from, string path, IReadOnlyList<(long Offset, long Length)> ranges,
        TimeSpan timeout, CancellationToken cancellation)
    {
        foreach (var (offset, length) in ranges)
            await _command.Input.WriteAsync(TargetWriter.Request($"copy {offset} {length}", from, path), cancellation);
        var reports = new List<TargetWriter.Report>();
        foreach (var _ in ranges) reports.Add(TargetWriter.Parse(await ReadLine(timeout, cancellation)));
        return reports;
    }

    private async Task<string?> ReadLine(TimeSpan timeout, CancellationToken cancellation)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(timeout);
        try
        {
            return await _command.ReadLine(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw new IOException($"the target's receiver did not answer within {timeout.TotalSeconds:F0} s");
        }
    }

    public bool IsRunning => _command.IsRunning;

    public void Dispose() => _command.Dispose();
}
