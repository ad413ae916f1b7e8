using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Microsoft.Extensions.Logging;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Observability;

namespace Vts.AutoCopy.Ems;

/// <summary>The EMS intake (SPEC §4.3): a TCP port taking one event per line, JSON or $ZSVR text, answering one line
/// per line in order. An event is acknowledged only once its tape actor has journaled it (R8). Replies are written in
/// input order while later lines are already being journaled, so one connection can keep many events in flight.</summary>
public sealed class EmsIntakeServer : IAsyncDisposable
{
    /// <summary>A longer line is refused whole; no legitimate event comes near it.</summary>
    public const int MaxLineBytes = 4096;
    private const int MaxInFlightPerConnection = 256;

    private readonly EmsSettings _settings;
    private readonly IReadOnlySet<PoolName> _monitored;
    private readonly IActorRef _pools;
    private readonly VaultLocator _vault;
    private readonly ILogger _log;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private Task _accepting = Task.CompletedTask;
    private long _textEvents;

    public EmsIntakeServer(EmsSettings settings, IReadOnlySet<PoolName> monitored, IActorRef pools, VaultLocator vault, ILogger log)
    {
        _settings = settings;
        _monitored = monitored;
        _pools = pools;
        _vault = vault;
        _log = log;
        _listener = new TcpListener(settings.Listen);
    }

    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start()
    {
        _listener.Start();
        _accepting = AcceptLoop(_stopping.Token);
    }

    private async Task AcceptLoop(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(stop); }
            catch (OperationCanceledException) { return; }
            catch (SocketException e) { _log.LogWarning("EMS accept failed: {Error}", e.Message); continue; }
            _ = Task.Run(() => Serve(client, stop), stop);
        }
    }

    private async Task Serve(TcpClient client, CancellationToken stop)
    {
        using var _ = client;
        var remote = client.Client.RemoteEndPoint;
        var stream = client.GetStream();
        var replies = Channel.CreateBounded<Task<string>>(MaxInFlightPerConnection);
        var writer = WriteReplies(stream, replies.Reader, stop);
        try
        {
            await foreach (var line in ReadLines(stream, stop))
                await replies.Writer.WriteAsync(line.TooLong
                    ? Task.FromResult(TooLong())
                    : Handle(line.Text), stop);
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (Exception e) { _log.LogWarning(e, "EMS connection {Remote} failed", remote); }
        finally
        {
            replies.Writer.TryComplete();
            try { await writer; } catch (Exception) { /* the client went away; nothing to tell it */ }
        }
    }

    private readonly record struct Line(string Text, bool TooLong);

    /// <summary>Splits the stream into lines without ever buffering more than one line's limit; a client that stops
    /// mid-line is dropped after the idle timeout so it cannot hold a connection forever.</summary>
    private async IAsyncEnumerable<Line> ReadLines(NetworkStream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken stop)
    {
        var buffer = new byte[16 * 1024];
        var line = new MemoryStream();
        var discarding = false;
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: false);
        while (true)
        {
            int read;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                idle.CancelAfter(_settings.IdleTimeout);
                try { read = await stream.ReadAsync(buffer, idle.Token); }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested) { yield break; }
            }
            if (read == 0) yield break; // a half line at the end of the stream was never a whole event
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                if (discarding) discarding = false;
                else
                {
                    line.Write(buffer, start, i - start);
                    var bytes = line.ToArray();
                    var length = bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length;
                    yield return new Line(utf8.GetString(bytes, 0, length), false);
                }
                line.SetLength(0);
                start = i + 1;
            }
            if (discarding) continue;
            line.Write(buffer, start, read - start);
            if (line.Length > MaxLineBytes)
            {
                line.SetLength(0);
                discarding = true;
                yield return new Line("", true);
            }
        }
    }

    private static async Task WriteReplies(NetworkStream stream, ChannelReader<Task<string>> replies, CancellationToken stop)
    {
        await foreach (var reply in replies.ReadAllAsync(stop))
        {
            var bytes = Encoding.UTF8.GetBytes(await reply + "\n");
            await stream.WriteAsync(bytes, stop);
        }
    }

    private async Task<string> Handle(string text)
    {
        var parsed = EmsLineParser.Parse(text);
        var kind = parsed is EmsLine.TapeEvent t ? (t.Kind == EmsEventKind.Mount ? "mount" : "dismount") : "other";
        var reply = await Reply(parsed);
        var outcome = reply.StartsWith("{\"nak\"") ? "nak" : reply.Contains("\"ignored\"") ? "ignored" : "ack";
        AutoCopyMetrics.EmsEvents.WithLabels(kind, outcome).Inc();
        return reply;
    }

    private async Task<string> Reply(EmsLine parsed)
    {
        switch (parsed)
        {
            case EmsLine.Malformed m:
                return Nak(m.Id, m.Error);
            case EmsLine.NotForAutoCopy n:
                return Ack($"ems-{Interlocked.Increment(ref _textEvents)}", n.Why);
            case EmsLine.TapeEvent e:
                var id = e.Id ?? $"ems-{Interlocked.Increment(ref _textEvents)}";
                var pool = e.Pool ?? _vault.FindPool(e.Volser);
                if (pool is null) return Ack(id, $"volser {e.Volser} is in no pool of the vault");
                if (!_monitored.Contains(pool)) return Ack(id, $"pool {pool} is not monitored by AutoCopy");
                var at = e.Time ?? DateTimeOffset.UtcNow;
                ITapeCommand command = e.Kind == EmsEventKind.Mount
                    ? new RecordMount(pool, e.Volser, id, e.Mode!.Value, at)
                    : new RecordDismount(pool, e.Volser, id, at);
                try
                {
                    var journaled = await _pools.Ask<TapeEventJournaled>(command, _settings.AckTimeout);
                    return Ack(journaled.EventId, null);
                }
                catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
                {
                    return Nak(id, "not journaled in time; send it again");
                }
            default:
                return Nak(null, "unrecognised line");
        }
    }

    private static string TooLong()
    {
        AutoCopyMetrics.EmsEvents.WithLabels("other", "nak").Inc();
        return Nak(null, $"line longer than {MaxLineBytes} bytes");
    }

    private static string Ack(string id, string? ignored)
    {
        var o = new Dictionary<string, string> { ["ack"] = id };
        if (ignored is not null) o["ignored"] = ignored;
        return JsonSerializer.Serialize(o);
    }

    private static string Nak(string? id, string error) =>
        JsonSerializer.Serialize(new Dictionary<string, string?> { ["nak"] = id, ["error"] = error });

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener.Stop();
        try { await _accepting; } catch (OperationCanceledException) { }
    }
}
