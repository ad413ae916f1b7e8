using System.Runtime.InteropServices;
using System.Text;
using Mono.Unix.Native;

namespace Vts.Testing;

/// <summary>What the kernel reports to inotify of one file, or of the files of one folder: that a file was opened or
/// read, which no stat or lstat causes. An event is queued by the call that causes it, so once that call has returned
/// its event is there to read.</summary>
public sealed class FileEvents : IDisposable
{
    /// <summary>IN_ACCESS: a file was read.</summary>
    public const uint Read = 0x01;

    /// <summary>IN_MODIFY: a file was written.</summary>
    public const uint Modified = 0x02;

    /// <summary>IN_OPEN: a file (or folder) was opened.</summary>
    public const uint Opened = 0x20;

    private const int NonBlocking = 0x800, CloseOnExec = 0x80000;
    private readonly int _fd;

    public FileEvents(string path, uint mask)
    {
        _fd = inotify_init1(NonBlocking | CloseOnExec);
        if (_fd < 0) throw new IOException($"inotify_init1: {NativeConvert.ToErrno(Marshal.GetLastPInvokeError())}");
        if (inotify_add_watch(_fd, path, mask) < 0)
        {
            var errno = NativeConvert.ToErrno(Marshal.GetLastPInvokeError());
            Syscall.close(_fd);
            throw new IOException($"inotify_add_watch {path}: {errno}");
        }
    }

    /// <summary>The events reported since the last call, each with the name of the file in a watched folder ("" for
    /// the watched file itself); none waited for.</summary>
    public IReadOnlyList<(uint Mask, string Name)> Take()
    {
        var events = new List<(uint, string)>();
        var buffer = new byte[64 * 1024];
        nint n;
        while ((n = read(_fd, buffer, buffer.Length)) > 0)
            for (var at = 0; at < n;)
            {
                // struct inotify_event: int wd; uint32 mask, cookie, len; char name[len] (NUL padded)
                var mask = BitConverter.ToUInt32(buffer, at + 4);
                var length = BitConverter.ToInt32(buffer, at + 12);
                events.Add((mask, Encoding.UTF8.GetString(buffer, at + 16, length).TrimEnd('\0')));
                at += 16 + length;
            }
        var errno = NativeConvert.ToErrno(Marshal.GetLastPInvokeError());
        if (errno != Errno.EAGAIN) throw new IOException($"reading inotify events: {errno}");
        return events;
    }

    /// <summary>Waits (blocking this thread, on poll(2)) for the first event that <paramref name="match"/> takes; null
    /// when none came within <paramref name="timeout"/>.</summary>
    public (uint Mask, string Name)? WaitFor(Func<(uint Mask, string Name), bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            foreach (var e in Take())
                if (match(e)) return e;
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return null;
            var fds = new[] { new Pollfd { fd = _fd, events = PollEvents.POLLIN } };
            Syscall.poll(fds, (int)Math.Min(left.TotalMilliseconds + 1, int.MaxValue));
        }
    }

    public void Dispose() => Syscall.close(_fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int inotify_init1(int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int inotify_add_watch(int fd, string path, uint mask);

    [DllImport("libc", SetLastError = true)]
    private static extern nint read(int fd, byte[] buffer, nint count);
}
