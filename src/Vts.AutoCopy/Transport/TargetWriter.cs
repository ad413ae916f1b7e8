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

    /// <summary>The receiver (receiver.py beside this file, embedded), run as <c>python3 -c '&lt;it&gt;'</c>: no single
    /// quote may appear in it.</summary>
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
    private static readonly string Receiver = LoadReceiver();

    private static string LoadReceiver()
    {
        using var stream = typeof(TargetWriter).Assembly.GetManifestResourceStream("Vts.AutoCopy.Transport.receiver.py")
                           ?? throw new InvalidOperationException("receiver.py is not embedded in this build");
        var script = new StreamReader(stream).ReadToEnd();
        // Quoted for the remote shell in single quotes: one inside would end the quoting there.
        return script.Contains('\'') ? throw new InvalidOperationException("receiver.py holds a single quote") : script;
    }

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
            case ["begun", var size, var partial] when IsCount(size) && (partial == "-" ? size == "0" : SftpTapeTransport.IsTemporaryName(partial)):
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
