using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Vts.AutoCopy.Transport;

/// <summary>
/// Carries one session's SSH connections to its target over sockets the node owns: SSH.NET connects to this relay on
/// loopback, and the relay to the target. SSH.NET sizes its own socket's buffers, which turns off the kernel's tuning
/// of them and bounds what one connection has in flight per round trip; and its send blocks in the socket with no
/// timeout, so a link that goes dark or a peer that stops reading (a zero window) would hold a transfer slot until the
/// kernel gave up, many minutes later. On the relay's own socket to the target the kernel tunes the buffers (as for
/// OpenSSH), TCP_USER_TIMEOUT ends the connection when sent bytes stay unacknowledged for the operation timeout, and
/// <see cref="Sever"/> closes every connection at once, which wakes a send blocked inside SSH.NET with an error.
/// </summary>
/// <remarks>The host key is checked by SSH.NET as before: the relay carries bytes, it neither reads nor changes them.
/// It listens on 127.0.0.1 only, for the one session that made it, and carries each connection it accepts to the one
/// target it was made for.</remarks>
internal sealed class TargetRelay : IDisposable
{
    private const int TcpUserTimeout = 18; // linux/tcp.h
    private readonly TcpListener _listener;
    private readonly string _host;
    private readonly int _port;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _userTimeout;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly CancellationTokenSource _stop = new();
    private long _sent;

    private TargetRelay(string host, int port, TimeSpan connectTimeout, TimeSpan userTimeout)
    {
        _host = host;
        _port = port;
        _connectTimeout = connectTimeout;
        _userTimeout = userTimeout;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = Accept();
    }

    /// <param name="userTimeout">how long sent bytes may stay unacknowledged by the target before the connection ends.</param>
    public static TargetRelay Start(string host, int port, TimeSpan connectTimeout, TimeSpan userTimeout) =>
        new(host, port, connectTimeout, userTimeout);

    /// <summary>Where SSH.NET connects: 127.0.0.1 and this port.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Why the last connection to the target could not be made; SSH.NET only sees the relay close.</summary>
    public string? ConnectError { get; private set; }

    /// <summary>Bytes carried to the target so far.</summary>
    public long BytesSent => Interlocked.Read(ref _sent);

    /// <summary>Closes every connection now: whatever waits on one of them inside SSH.NET fails at once.</summary>
    public void Sever()
    {
        foreach (var socket in _sockets.Keys) Close(socket);
    }

    private async Task Accept()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket inner;
            try
            {
                inner = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            _ = Carry(inner);
        }
    }

    private async Task Carry(Socket inner)
    {
        _sockets[inner] = 0;
        var outer = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _sockets[outer] = 0;
        try
        {
            outer.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpUserTimeout, BitConverter.GetBytes((uint)_userTimeout.TotalMilliseconds));
            outer.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                deadline.CancelAfter(_connectTimeout);
                try
                {
                    await outer.ConnectAsync(_host, _port, deadline.Token);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    throw new TimeoutException($"no answer within {_connectTimeout.TotalSeconds:F0} s");
                }
            }
            ConnectError = null;
            var up = Pump(inner, outer, counted: true);
            var down = Pump(outer, inner, counted: false);
            await Task.WhenAny(up, down);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            if (e is not ObjectDisposedException) ConnectError ??= e.Message;
        }
        finally
        {
            Close(inner);
            Close(outer);
        }
    }

    private async Task Pump(Socket from, Socket to, bool counted)
    {
        var buffer = new byte[256 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) return;
                for (var sent = 0; sent < n;) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                if (counted) Interlocked.Add(ref _sent, n);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The other direction and both sockets are closed by Carry.
        }
    }

    private void Close(Socket socket)
    {
        if (!_sockets.TryRemove(socket, out _)) return;
        try { socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        socket.Dispose();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        Sever();
    }
}
