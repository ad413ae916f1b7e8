using System.Text;

namespace Vts.AutoCopy.Transport;

/// <summary>The command a large tape is streamed into at the target, and what it reports back. Where the target has
/// python3, a small receiver writes the bytes and hashes them in the same pass, so the proof costs no second read and
/// no wait after the upload; elsewhere <c>cat</c> writes them and the target hashes the file afterwards.</summary>
/// <remarks>Measured on the loopback target (1 GiB, 2 cores): <c>cat</c> into the page cache and <c>openssl dgst</c>
/// afterwards cost 3.9–4.4 s of CPU and about 1 s of waiting after the upload; the receiver costs 1.9–2.1 s, all of
/// it while the bytes arrive. Most of the difference is the page cache: filling fresh pages costs the kernel 2–3.5 s
/// per GiB on this virtual machine, and the receiver writes around it (O_DIRECT, where the file system takes it).</remarks>
internal static class TargetWriter
{
    /// <summary>Exit status of the receiver when the target could not write the file (disk full, no permission...):
    /// the attempt fails with the target's words, and the receiver stays in use.</summary>
    public const int WriteRefused = 3;

    /// <summary>What the receiver prints, at most: one line of a fixed form. More is not trusted.</summary>
    public const int MaxReport = 512;

    // The receiver, run as `python3 -c '<this>' <path>`: no single quote may appear in it.
    // - stdin is read into page-aligned 1 MiB buffers (O_DIRECT needs aligned memory, offsets and lengths); only the
    //   last, short buffer is written without O_DIRECT.
    // - a second thread writes while the first reads and hashes the next buffer: hashlib and os.write release the GIL.
    // - the pipe from sshd is widened to 1 MiB (F_SETPIPE_SZ = 1031) so it wakes the receiver less often.
    // - fsync before reporting: a proven copy is on the target's disk before it is renamed to its final name.
    private const string Receiver = """
        import errno, fcntl, hashlib, mmap, os, queue, sys, threading
        path = sys.argv[1]
        size = 1 << 20
        try:
            fcntl.fcntl(0, 1031, size)
        except OSError:
            pass
        def direct(fd, on):
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
        free, full, failed = queue.Queue(), queue.Queue(), []
        def write(fd):
            try:
                while True:
                    item = full.get()
                    if item is None:
                        return
                    view, n = item
                    if n % 4096:
                        direct(fd, False)
                    done = 0
                    while done < n:
                        try:
                            done += os.write(fd, view[done:n])
                        except OSError as e:
                            if e.errno != errno.EINVAL or not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
                                raise
                            direct(fd, False)
                    free.put(view)
            except OSError as e:
                failed.append(e)
                free.put(None)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            try:
                fd = os.open(path, flags | os.O_DIRECT, 0o644)
            except OSError:
                fd = os.open(path, flags, 0o644)
            for _ in range(4):
                free.put(memoryview(mmap.mmap(-1, size)))
            writer = threading.Thread(target=write, args=(fd,))
            writer.start()
            sha, total = hashlib.sha256(), 0
            while True:
                view = free.get()
                if view is None:
                    break
                n = 0
                while n < size:
                    got = os.readv(0, [view[n:]])
                    if got == 0:
                        break
                    n += got
                if n == 0:
                    break
                sha.update(view[:n])
                full.put((view, n))
                total += n
                if n < size:
                    break
            full.put(None)
            writer.join()
            if failed:
                raise failed[0]
            os.fsync(fd)
            os.close(fd)
        except OSError as e:
            print("error", e.strerror or e)
            sys.exit(3)
        print("sha256", sha.hexdigest(), total)
        """;

    /// <summary>Where the target's python3 is looked for unless told otherwise: on the user's PATH.</summary>
    public const string Python = "python3";

    /// <summary>The shell command that writes the streamed bytes to <paramref name="path"/>: the hashing receiver
    /// where the target has <paramref name="python"/>, else <c>cat</c>.</summary>
    public static string Command(string path, string? python)
    {
        var quoted = ShellQuote(path);
        if (python is null) return $"exec cat > {quoted}";
        var interpreter = ShellQuote(python);
        return $"if command -v {interpreter} >/dev/null 2>&1; then exec {interpreter} -c '{Receiver}' {quoted}; else exec cat > {quoted}; fi";
    }

    /// <summary>One argument for a POSIX shell, whatever it holds.</summary>
    public static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''") + "'";

    /// <summary>Reads at most <see cref="MaxReport"/> bytes of what the receiver printed; a longer report is cut and
    /// then fails to parse, and what was not read is never held.</summary>
    public static async Task<string> ReadReport(Stream output, CancellationToken cancellation)
    {
        var buffer = new byte[MaxReport + 1];
        var n = 0;
        int got;
        while (n < buffer.Length && (got = await output.ReadAsync(buffer.AsMemory(n), cancellation)) > 0) n += got;
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    /// <summary>Reads what the command printed: a hash and a byte count from the receiver, nothing from <c>cat</c>, or
    /// the target's reason it could not write.</summary>
    public static Report Parse(string output, int? exitStatus)
    {
        if (output.Length > MaxReport) return new Report.Garbled("the target's report is longer than it may be");
        var line = output.TrimEnd('\n');
        if (line.Contains('\n')) return new Report.Garbled("the target's report has more than one line");
        if (exitStatus == WriteRefused && line.StartsWith("error ", StringComparison.Ordinal))
            return new Report.Refused(Printable(line["error ".Length..]));
        if (exitStatus != 0) return new Report.Garbled($"the target's receiver exited with {exitStatus?.ToString() ?? "no status"}");
        if (line.Length == 0) return new Report.Written(null, null);

        var fields = line.Split(' ');
        if (fields is ["sha256", var hex, var count] && hex.Length == 64 && hex.All(char.IsAsciiHexDigitLower)
            && count.Length is > 0 and <= 19 && count.All(char.IsAsciiDigit) && long.TryParse(count, out var bytes))
            return new Report.Written(hex, bytes);
        return new Report.Garbled("the target's report is not a SHA-256 and a size");
    }

    private static string Printable(string text)
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
