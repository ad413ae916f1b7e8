using System.Net;
using System.Net.Sockets;

namespace Vts.Bench;

/// <summary>A target that accepts connections and never answers: transfers to it hang in the SSH handshake, so the
/// copies stay due and the benchmark sees the engine's own work, not the network's.</summary>
public sealed class BlackHole : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public BlackHole()
    {
        _listener.Start();
        _accepting = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    lock (_held) _held.Add(client);
                }
                catch (OperationCanceledException) { return; }
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _accepting; } catch (Exception) { }
        lock (_held) foreach (var c in _held) c.Dispose();
    }
}
