using System.Diagnostics;
using System.Net;

namespace Vts.Testing.Wan;

/// <summary>
/// A long, thin link on this machine: a network namespace of its own (the far side, where a target's sshd runs) joined
/// to this one by two TUN devices, with a forwarder in this process between them that holds each packet for half the
/// round trip and lets it through no faster than the link's rate, behind a queue of one bandwidth-delay product.
/// TCP over it sees a real round trip, real queueing and real loss when it overfills the queue: what a copy to a
/// disaster-recovery site sees, which loopback (0 ms) hides. The kernel here has no netem; TUN and namespaces work.
/// </summary>
/// <remarks>Needs root (CAP_NET_ADMIN), <c>ip</c> and /dev/net/tun. Addresses are 10.207.N.1 (here) and 10.207.N.2
/// (far), only inside the namespace and on the devices it creates; both go when the link is disposed.</remarks>
public sealed class WanLink : IAsyncDisposable
{
    private static int _made;
    private readonly TunDevice _near;
    private readonly TunDevice _far;
    private readonly Lane _out;
    private readonly Lane _back;

    /// <summary>The namespace of the far side: run a process there with <see cref="InNamespace"/>.</summary>
    public string Namespace { get; }

    /// <summary>This side's address on the link.</summary>
    public IPAddress Near { get; }

    /// <summary>The far side's address: what a target behind the link listens on.</summary>
    public IPAddress Far { get; }

    public TimeSpan RoundTrip { get; }
    public long BitsPerSecond { get; }

    /// <summary>Bytes (IP packets, headers included) carried towards the far side so far.</summary>
    public long BytesOut => _out.Delivered;

    private WanLink(string ns, TunDevice near, TunDevice far, IPAddress nearAddress, IPAddress farAddress, TimeSpan roundTrip, long bitsPerSecond)
    {
        Namespace = ns;
        _near = near;
        _far = far;
        Near = nearAddress;
        Far = farAddress;
        RoundTrip = roundTrip;
        BitsPerSecond = bitsPerSecond;
        var bytesPerSecond = bitsPerSecond / 8.0;
        var queue = (long)Math.Max(64 * 1024, bytesPerSecond * roundTrip.TotalSeconds); // one bandwidth-delay product
        _out = new Lane($"{ns} out", near, far, bytesPerSecond, roundTrip / 2, queue);
        _back = new Lane($"{ns} back", far, near, bytesPerSecond, roundTrip / 2, queue);
    }

    /// <summary>Creates the namespace, the devices and the forwarder. An MTU of 9000 keeps the forwarder's per-packet
    /// cost low enough for a few hundred Mbit/s on one core.</summary>
    public static async Task<WanLink> Create(TimeSpan roundTrip, long bitsPerSecond, int mtu = 9000)
    {
        var n = (Environment.ProcessId + Interlocked.Increment(ref _made)) % 250 + 1;
        var ns = $"vtswan-{Environment.ProcessId}-{n}";
        string nearName = $"vwa{n}-{Environment.ProcessId % 10000}", farName = $"vwb{n}-{Environment.ProcessId % 10000}";
        IPAddress near = IPAddress.Parse($"10.207.{n}.1"), far = IPAddress.Parse($"10.207.{n}.2");
        await Ip("netns", "add", ns);
        TunDevice? nearDevice = null, farDevice = null;
        try
        {
            nearDevice = TunDevice.Open(nearName);
            farDevice = TunDevice.Open(farName);
            await Ip("link", "set", farName, "netns", ns);
            await Ip("addr", "add", near.ToString(), "peer", far.ToString(), "dev", nearName);
            await Ip("link", "set", nearName, "mtu", mtu.ToString(), "up");
            await Ip("-n", ns, "addr", "add", far.ToString(), "peer", near.ToString(), "dev", farName);
            await Ip("-n", ns, "link", "set", farName, "mtu", mtu.ToString(), "up");
            await Ip("-n", ns, "link", "set", "lo", "up");
            return new WanLink(ns, nearDevice, farDevice, near, far, roundTrip, bitsPerSecond);
        }
        catch
        {
            nearDevice?.Dispose();
            farDevice?.Dispose();
            await Ip("netns", "del", ns).ContinueWith(_ => { });
            throw;
        }
    }

    /// <summary>The command line that runs <paramref name="file"/> in the far side's namespace.</summary>
    public (string File, string[] Args) InNamespace(string file, params string[] args) =>
        ("/usr/sbin/ip", ["netns", "exec", Namespace, file, .. args]);

    /// <summary>The link goes dark both ways (every packet dropped) until <see cref="Restore"/>: a cut cable, as TCP sees it.</summary>
    public void Cut()
    {
        _out.Cut = true;
        _back.Cut = true;
    }

    public void Restore()
    {
        _out.Cut = false;
        _back.Cut = false;
    }

    public override string ToString() => $"{RoundTrip.TotalMilliseconds:F0} ms, {BitsPerSecond / 1e6:F0} Mbit/s";

    public async ValueTask DisposeAsync()
    {
        _out.Dispose();
        _back.Dispose();
        _near.Dispose();
        _far.Dispose();
        await Ip("netns", "del", Namespace).ContinueWith(_ => { });
    }

    private static Task<string> Ip(params string[] args) => Sshd.Run("/usr/sbin/ip", args);

    /// <summary>One direction: a bottleneck queue drained at the link's rate, then the propagation delay.</summary>
    private sealed class Lane : IDisposable
    {
        private readonly TunDevice _from;
        private readonly TunDevice _to;
        private readonly double _ticksPerByte;
        private readonly long _delayTicks;
        private readonly long _queueTicks;
        private readonly System.Collections.Concurrent.BlockingCollection<(byte[] Packet, int Length, long DeliverAt)> _inFlight = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _reader;
        private readonly Thread _deliverer;
        private long _lastDeparture;
        private long _delivered;

        public volatile bool Cut;
        public long Delivered => Interlocked.Read(ref _delivered);

        public Lane(string name, TunDevice from, TunDevice to, double bytesPerSecond, TimeSpan oneWay, long queueBytes)
        {
            _from = from;
            _to = to;
            _ticksPerByte = Stopwatch.Frequency / bytesPerSecond;
            _delayTicks = (long)(oneWay.TotalSeconds * Stopwatch.Frequency);
            _queueTicks = (long)(queueBytes * _ticksPerByte);
            _reader = new Thread(Read) { IsBackground = true, Name = $"wan {name} read" };
            _deliverer = new Thread(Deliver) { IsBackground = true, Name = $"wan {name} deliver" };
            _reader.Start();
            _deliverer.Start();
        }

        private void Read()
        {
            var buffer = new byte[65536];
            while (!_stop.IsCancellationRequested)
            {
                var n = _from.Read(buffer, TimeSpan.FromMilliseconds(100));
                if (n <= 0 || Cut) continue;
                var now = Stopwatch.GetTimestamp();
                // Serialised onto the link after every packet queued before it; a queue longer than it may hold drops it.
                var departure = Math.Max(now, _lastDeparture) + (long)(n * _ticksPerByte);
                if (departure - now > _queueTicks) continue;
                _lastDeparture = departure;
                var packet = System.Buffers.ArrayPool<byte>.Shared.Rent(n);
                Buffer.BlockCopy(buffer, 0, packet, 0, n);
                _inFlight.Add((packet, n, departure + _delayTicks));
            }
        }

        private void Deliver()
        {
            try
            {
                foreach (var (packet, length, deliverAt) in _inFlight.GetConsumingEnumerable(_stop.Token))
                {
                    // To the millisecond, not finer: spinning for the last fraction cost a core at a few hundred Mbit/s.
                    var wait = (deliverAt - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                    if (wait >= 1) Thread.Sleep((int)wait);
                    if (!Cut && _to.Write(packet, length)) Interlocked.Add(ref _delivered, length);
                    System.Buffers.ArrayPool<byte>.Shared.Return(packet);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _reader.Join();
            _deliverer.Join();
        }
    }
}
