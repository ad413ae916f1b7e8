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

/// <summary>The EMS port is held by another process; the message names the setting.</summary>
public sealed class EmsPortInUseException(string setting, Exception inner) : Exception(setting, inner);

/// <summary>The EMS intake (docs/ems.md): a TCP port taking one event per line, JSON or $ZSVR text, answering one line
/// per line in order. An event is acknowledged only once its tape actor has journaled it (R8). Replies are written in
/// input order while later lines are already being journaled, so one connection can keep many events in flight.</summary>
public sealed class EmsIntakeServer : IAsyncDisposable
{
    /// <summary>A longer line is refused whole; no legitimate event comes near it.</summary>
    public const int MaxLineBytes = 4096;
    private const int MaxInFlightPerConnection = 256;
    /// <summary>More clients than any EMS distributor setup needs; past it a new peer gets in only by closing an idle
    /// connection of the peer holding the most (<see cref="EmsConnections"/>).</summary>
    public const int MaxConnections = 64;

    /// <summary>Connections from one address at once: a quarter of the whole.</summary>
    public const int MaxConnectionsPerPeer = MaxConnections / 4;

    private readonly EmsConnections _connections = new(MaxConnections, MaxConnectionsPerPeer);

    private readonly EmsSettings _settings;
    private readonly IReadOnlySet<PoolName> _monitored;
    private readonly IActorRef _pools;
    private readonly VaultLocator _vault;
    private readonly ILogger _log;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private Task _accepting = Task.CompletedTask;
    private long _textEvents;
    /// <summary>EMS text carries no id, so one is made up; unique per boot (and node), so that a tape's memory of ids
    /// it has seen never mistakes a new line after a restart for a repeat of an old one.</summary>
    private readonly string _textIdPrefix = $"ems-{Guid.NewGuid():N}"[..12];

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

    /// <exception cref="EmsPortInUseException">another process holds <c>vts.ems.listen</c>.</exception>
    public void Start()
    {
        try
        {
            _listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new EmsPortInUseException($"vts.ems.listen ({_settings.Listen})", e);
        }
        _accepting = AcceptLoop(_stopping.Token);
    }

    private async Task AcceptLoop(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(stop); }
            catch (OperationCanceledException) { return; }
            catch (SocketException e)
            {
                // Out of descriptors, say: back off rather than spin.
                _log.LogWarning("EMS accept failed: {Error}", e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200), stop).ContinueWith(_ => { });
                continue;
            }
            var peer = (client.Client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
            if (!_settings.Allows(peer))
            {
                _log.LogWarning("EMS connection from {Remote} refused: neither loopback nor in vts.ems.allow", peer);
                AutoCopyMetrics.EmsConnectionsRefused.WithLabels("not-allowed").Inc();
                client.Dispose();
                continue;
            }
            var admission = _connections.Admit(peer);
            if (admission.Connection is not { } connection)
            {
                _log.LogWarning("EMS connection from {Remote} refused: {Why}", peer, admission.Refused == "peer-limit"
                    ? $"{MaxConnectionsPerPeer} connections from it open"
                    : $"{MaxConnections} connections open, none of them can give way");
                AutoCopyMetrics.EmsConnectionsRefused.WithLabels(admission.Refused!).Inc();
                client.Dispose();
                continue;
            }
            if (admission.Closed is { } closed)
                _log.LogWarning("EMS connection from {Closed} closed to let {Remote} in: {Max} connections were open, {Held} of them from that address",
                    closed.Peer, peer, MaxConnections, _connections.OpenFrom(closed.Peer) + 1);
            _ = Task.Run(async () =>
            {
                try { await Serve(client, connection, stop); }
                finally { _connections.Release(connection); }
            }, CancellationToken.None); // started whatever comes: its finally gives the place back
        }
    }

    private async Task Serve(TcpClient client, EmsConnections.Connection held, CancellationToken stop)
    {
        using var _ = client;
        // Each ack goes out the moment it is known. With Nagle's algorithm an ack written while the previous one was
        // still unacknowledged waited for the sender's next line or its delayed ACK: 10 ms at p50 at 500 events/s.
        client.NoDelay = true;
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop, held.Closing);
        var remote = client.Client.RemoteEndPoint;
        var stream = client.GetStream();
        var replies = Channel.CreateBounded<Task<string>>(MaxInFlightPerConnection);
        // If replies can no longer be written, reading more lines would only journal events nobody hears about.
        var writer = WriteReplies(stream, replies.Reader, held, _settings.IdleTimeout, connection.Token)
            .ContinueWith(t => { connection.Cancel(); return t; }, TaskScheduler.Default).Unwrap();
        try
        {
            await foreach (var line in ReadLines(stream, held, connection.Token))
            {
                held.Owe();
                await replies.Writer.WriteAsync(line.TooLong
                    ? Task.FromResult(TooLong())
                    : Handle(line.Text), connection.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        catch (Exception e) { _log.LogWarning(e, "EMS connection {Remote} failed", remote); }
        finally
        {
            replies.Writer.TryComplete();
            try { await writer; } catch (Exception) { /* the client went away; nothing to tell it */ }
        }
    }

    private readonly record struct Line(string Text, bool TooLong);

    /// <summary>Splits the stream into lines without ever buffering more than one line's limit. A client that sends
    /// nothing, or whose line is not whole within the idle timeout (a byte now and then keeps no line open), is dropped,
    /// so it cannot hold a connection for ever.</summary>
    private async IAsyncEnumerable<Line> ReadLines(NetworkStream stream, EmsConnections.Connection held,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken stop)
    {
        var buffer = new byte[16 * 1024];
        var line = new MemoryStream();
        var discarding = false;
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: false);
        var lineStarted = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            int read;
            using (var idle = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                // A line under way keeps the time it started: the rest of it must come within what is left.
                var left = line.Length > 0 || discarding ? _settings.IdleTimeout - lineStarted.Elapsed : _settings.IdleTimeout;
                if (left <= TimeSpan.Zero) yield break;
                idle.CancelAfter(left);
                try { read = await stream.ReadAsync(buffer, idle.Token); }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested) { yield break; }
            }
            if (read == 0) yield break; // a half line at the end of the stream was never a whole event
            held.Touch();
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
                lineStarted.Restart();
            }
            if (line.Length == 0 && !discarding && start < read) lineStarted.Restart(); // a new line begins in this read
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

    /// <summary>A client that stops reading its replies is dropped after the idle timeout, like one that stops writing.</summary>
    private static async Task WriteReplies(NetworkStream stream, ChannelReader<Task<string>> replies, EmsConnections.Connection held,
        TimeSpan timeout, CancellationToken stop)
    {
        try
        {
            await foreach (var reply in replies.ReadAllAsync(stop))
            {
                var bytes = Encoding.UTF8.GetBytes(await reply + "\n");
                using var slow = CancellationTokenSource.CreateLinkedTokenSource(stop);
                slow.CancelAfter(timeout);
                await stream.WriteAsync(bytes, slow.Token);
                held.Replied();
            }
        }
        finally
        {
            stream.Close(); // ends the reader too, so nothing waits on a connection nobody serves
        }
    }

    private async Task<string> Handle(string text)
    {
        try
        {
            return await HandleLine(text);
        }
        catch (Exception e)
        {
            // One bad moment (the vault unreadable, say) refuses one line; the connection and its order survive.
            _log.LogWarning(e, "EMS line not handled");
            return Nak(null, $"not handled: {Printable.Clip(e.Message, 120)}");
        }
    }

    private async Task<string> HandleLine(string text)
    {
        var parsed = EmsLineParser.Parse(text);
        var kind = parsed is EmsLine.TapeEvent t
            ? t.Kind switch
            {
                EmsEventKind.Mount => "mount",
                EmsEventKind.Dismount => "dismount",
                _ => "mount-outcome",
            }
            : "other";
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
                return Ack(NextTextId(), n.Why);
            case EmsLine.TapeEvent e:
                var id = e.Id ?? NextTextId();
                var pool = e.Pool ?? _vault.FindPool(e.Volser);
                if (pool is null) return Ack(id, $"volser {e.Volser} is in no pool of the vault");
                if (!_monitored.Contains(pool)) return Ack(id, $"pool {pool} is not monitored by AutoCopy");
                // As for EMS text, whose pool is found by the tape's file: a tape that is not there has nothing to copy
                // (a copy made due would only fail twelve times).
                if (e.Pool is not null && !_vault.Holds(pool, e.Volser)) return Ack(id, $"volser {e.Volser} is not in pool {pool} of the vault");
                var at = e.Time ?? DateTimeOffset.UtcNow;
                ITapeCommand command = e.Kind switch
                {
                    EmsEventKind.Mount => new RecordMount(pool, e.Volser, id, e.Mode!.Value, at),
                    EmsEventKind.Dismount => new RecordDismount(pool, e.Volser, id, at),
                    EmsEventKind.MountCancelled => new RecordMountWithdrawn(pool, e.Volser, id, "cancelled", at),
                    EmsEventKind.MountRejected => new RecordMountWithdrawn(pool, e.Volser, id, "rejected", at),
                    EmsEventKind.MountAccepted => new RecordMountAccepted(pool, e.Volser, id, at),
                    _ => throw new InvalidOperationException($"EMS event kind {e.Kind} has no command"),
                };
                var journaled = await Journal(command, id);
                // A node of an earlier build owning the pool cannot read a 648 (it acknowledged them only): the line is not
                // refused, which would hold every later line of the connection behind its sender's repeats.
                return command is RecordMountAccepted && journaled.StartsWith("{\"nak\"", StringComparison.Ordinal)
                    ? Ack(id, "mount accepted: not taken in by the pool's owner in time; the mount counts from its request")
                    : journaled;
            default:
                return Nak(null, "unrecognised line");
        }
    }

    /// <summary>Sends the event to its pool until it is journaled or the ack timeout has passed. While nodes join or
    /// leave, sharding moves pools between them and drops what reaches a pool in the middle of a move; sent again, the
    /// event is journaled once (the tape remembers its id) and acknowledged.</summary>
    private async Task<string> Journal(ITapeCommand command, string id)
    {
        var deadline = DateTime.UtcNow + _settings.AckTimeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return Nak(id, "not journaled in time; send it again");
            try
            {
                // A third of the ack timeout: under a burst an event can take seconds to be journaled, and each needless
                // repeat is one more message for its tape to turn away.
                var again = _settings.AckTimeout / 3;
                var journaled = await _pools.Ask<TapeEventJournaled>(command, left < again ? left : again);
                return Ack(journaled.EventId, null);
            }
            catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
            {
            }
        }
    }

    public string NextTextId() => $"{_textIdPrefix}-{Interlocked.Increment(ref _textEvents)}";

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
