using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Vts.Testing;

/// <summary>Sends EMS lines to a node and reads its one-line replies.</summary>
public sealed class EmsClient : IDisposable
{
    private readonly TcpClient _tcp = new();
    private readonly StreamReader _reader;
    private readonly Stream _stream;

    public EmsClient(IPEndPoint node)
    {
        _tcp.Connect(node);
        _stream = _tcp.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public async Task<JsonElement> Send(string line)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
        return await Reply();
    }

    /// <summary>As an EMS sender does: an event refused with a nak (the journal slow or the pool moving) is sent again,
    /// under the same id, until it is acknowledged; the reply that acknowledged it. Fails once the deadline passes.</summary>
    public async Task<JsonElement> SendUntilAcked(string line, TimeSpan deadline)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var reply = await Send(line);
            if (reply.TryGetProperty("ack", out _)) return reply;
            if (clock.Elapsed > deadline) throw new TimeoutException($"not acknowledged within {deadline}: {line} → {reply}");
            await Task.Delay(100); // a sender's pause before it sends again
        }
    }

    public async Task SendRaw(byte[] bytes) => await _stream.WriteAsync(bytes);

    public async Task<JsonElement> Reply()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("the node closed the connection");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    public static string Mount(string id, string pool, string volser, string mode = "ring") =>
        $$"""{"id":"{{id}}","event":"mount","pool":"{{pool}}","volser":"{{volser}}","mode":"{{mode}}"}""";

    public static string Dismount(string id, string pool, string volser) =>
        $$"""{"id":"{{id}}","event":"dismount","pool":"{{pool}}","volser":"{{volser}}"}""";

    public void Dispose() => _tcp.Dispose();
}
