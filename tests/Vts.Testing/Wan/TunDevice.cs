using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;

namespace Vts.Testing.Wan;

/// <summary>A Linux TUN device (IP packets, no extra header) held open by this process: it exists while the handle is
/// open, and it stays attached to the handle when the device moves to another network namespace.</summary>
internal sealed partial class TunDevice : IDisposable
{
    private const int ReadWrite = 2;
    private const int NonBlocking = 0x800;
    private const ulong TunSetInterface = 0x400454ca;
    private const short Tun = 0x0001, NoPacketInformation = 0x1000;
    private const short PollIn = 0x0001;
    private int _fd;

    public string Name { get; }

    private TunDevice(int fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    public static TunDevice Open(string name)
    {
        if (Encoding.ASCII.GetByteCount(name) > 15) throw new ArgumentException($"an interface name has at most 15 characters: {name}");
        var fd = open("/dev/net/tun", ReadWrite | NonBlocking);
        if (fd < 0) throw new Win32Exception(Marshal.GetLastPInvokeError(), "cannot open /dev/net/tun");
        var request = new byte[40]; // struct ifreq: the name, then the flags
        Encoding.ASCII.GetBytes(name, request);
        BitConverter.TryWriteBytes(request.AsSpan(16), (short)(Tun | NoPacketInformation));
        if (ioctl(fd, TunSetInterface, request) < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            close(fd);
            throw new Win32Exception(error, $"cannot create TUN device {name}");
        }
        return new TunDevice(fd, name);
    }

    /// <summary>One packet into <paramref name="buffer"/>: its length, or 0 when none came within <paramref name="wait"/>.</summary>
    public int Read(byte[] buffer, TimeSpan wait)
    {
        var poll = new PollFd { Fd = _fd, Events = PollIn };
        if (Poll(ref poll, 1, (int)wait.TotalMilliseconds) <= 0) return 0;
        var n = read(_fd, buffer, buffer.Length);
        return n > 0 ? (int)n : 0;
    }

    /// <summary>Hands one packet to the kernel, as if it had arrived on this device. False when the kernel dropped it.</summary>
    public bool Write(byte[] packet, int length) => write(_fd, packet, length) == length;

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) close(fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, ulong request, byte[] argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, ulong count, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
