using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Vts.Sim;

/// <summary>One simulated tape and what the simulator last did to it.</summary>
public sealed class SimTape(string pool, string volser, bool encrypted)
{
    public string Pool { get; } = pool;
    public string Volser { get; } = volser;
    public bool Encrypted { get; } = encrypted;
    public int Mounts { get; set; }
    public int Writes { get; set; }
    public bool LastMountRing { get; set; }
    public string? Sha256 { get; set; }
    public long Bytes { get; set; }
}

/// <summary>Counts shared by the writer and reader loops; the reader's counters are only touched by the reader.</summary>
public sealed class SimResult
{
    public int Ring { get; set; }
    public int Noring { get; set; }
    public int Sent { get; set; }
    public int Acks { get; set; }
    public int Naks { get; set; }
    public int Ignored { get; set; }
    public List<string> Errors { get; } = [];
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset FinishedAt { get; set; }
    public double ElapsedSeconds { get; set; }
    public string? Failure { get; set; }
    public bool Connected { get; set; }
    public int ErrorCount { get; set; }
}

/// <summary>Runs the mount/write/dismount cycles against a node's EMS intake, with replies kept in flight.</summary>
/// <param name="key">the key encrypted tapes are written under (<see cref="SimOptions.EncryptedShare"/>).</param>
public sealed class Simulator(SimOptions options, TapeKey? key = null)
{
    private const int MaxErrorsKept = 5;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    // The node acks once journaled; a healthy node answers in milliseconds, so a minute of silence means it is stuck.
    private static readonly TimeSpan ReplyDrainTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentQueue<string> _awaiting = new();
    private readonly SimResult _result = new();

    public IReadOnlyList<SimTape> Tapes { get; } = CreateTapes(options);
    public SimResult Result => _result;

    private static List<SimTape> CreateTapes(SimOptions o)
    {
        var tapes = new List<SimTape>(o.Tapes);
        for (var i = 0; i < o.Tapes; i++)
        {
            // Spread the encrypted tapes evenly and deterministically: exactly floor(share × tapes) of them.
            var encrypted = Math.Floor((i + 1) * o.EncryptedShare) > Math.Floor(i * o.EncryptedShare);
            tapes.Add(new SimTape(o.Pools[i % o.Pools.Count], $"{o.VolserPrefix}{i + 1:D5}", encrypted));
        }
        return tapes;
    }

    public async Task<SimResult> RunAsync(CancellationToken cancel)
    {
        using var client = new TcpClient { NoDelay = true };
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            connectTimeout.CancelAfter(ConnectTimeout);
            await client.ConnectAsync(options.EmsHost, options.EmsPort, connectTimeout.Token);
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancel.IsCancellationRequested))
        {
            _result.Failure = $"cannot connect to the EMS intake at {options.EmsHost}:{options.EmsPort}: {(e is SocketException ? e.Message : "timed out")}";
            return _result;
        }

        _result.Connected = true;
        var stream = client.GetStream();
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var expectedReplies = options.Cycles * 2;
        var stopwatch = Stopwatch.StartNew();
        _result.StartedAt = DateTimeOffset.UtcNow;

        var reader = Task.Run(() => ReadRepliesAsync(stream, expectedReplies, abort), CancellationToken.None);
        var writer = Task.Run(() => WriteCyclesAsync(stream, stopwatch, abort), CancellationToken.None);

        await writer;
        if (cancel.IsCancellationRequested) _result.Failure ??= "stopped before every cycle ran";
        if (_result.Failure is null)
        {
            if (await Task.WhenAny(reader, Task.Delay(ReplyDrainTimeout, cancel)) != reader)
            {
                _result.Failure ??= $"no reply to {expectedReplies - _result.Acks - _result.Naks} of {expectedReplies} events within {ReplyDrainTimeout.TotalSeconds:0} s";
                abort.Cancel();
            }
        }
        else
        {
            abort.Cancel();
        }
        await reader;

        _result.ElapsedSeconds = stopwatch.Elapsed.TotalSeconds;
        _result.FinishedAt = DateTimeOffset.UtcNow;
        return _result;
    }

    private async Task WriteCyclesAsync(NetworkStream stream, Stopwatch stopwatch, CancellationTokenSource abort)
    {
        var ring = new Random(42); // fixed seed: the same arguments give the same ring/noring sequence every run
        var lines = new StreamWriter(stream, new UTF8Encoding(false), 1 << 12, leaveOpen: true) { NewLine = "\n" };
        var nextId = 1;
        try
        {
            for (var cycle = 0; cycle < options.Cycles; cycle++)
            {
                // Each cycle is due at a fixed offset from the start, so a slow tape write is caught up on
                // rather than pushing every later cycle back.
                var wait = TimeSpan.FromSeconds(cycle / options.Rate) - stopwatch.Elapsed;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, abort.Token);

                var tape = Tapes[cycle % Tapes.Count];
                var isRing = ring.NextDouble() >= options.NoringShare;
                tape.Mounts++;
                tape.LastMountRing = isRing;
                if (isRing) _result.Ring++; else _result.Noring++;

                // A VTS mounts only tapes its vault holds: a new one is there, empty, before its first mount.
                var file = Path.Combine(options.Vault, tape.Pool, tape.Volser);
                if (!File.Exists(file))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                    await File.WriteAllBytesAsync(file, [], abort.Token);
                }

                var time = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                await SendAsync(lines, $"{options.IdPrefix}-{nextId++}",
                    id => $"{{\"id\":\"{id}\",\"event\":\"mount\",\"pool\":\"{tape.Pool}\",\"volser\":\"{tape.Volser}\",\"mode\":\"{(isRing ? "ring" : "noring")}\",\"time\":\"{time}\"}}",
                    abort.Token);

                if (isRing)
                {
                    tape.Sha256 = TapeWriter.Write(options.Vault, tape.Pool, tape.Volser, options.Size, tape.Encrypted ? key : null);
                    tape.Bytes = new FileInfo(Path.Combine(options.Vault, tape.Pool, tape.Volser)).Length;
                    tape.Writes++;
                }

                await SendAsync(lines, $"{options.IdPrefix}-{nextId++}",
                    id => $"{{\"id\":\"{id}\",\"event\":\"dismount\",\"pool\":\"{tape.Pool}\",\"volser\":\"{tape.Volser}\"}}",
                    abort.Token);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // The reader hit a failure (or the user stopped us); it has recorded why.
        }
        catch (IOException e)
        {
            _result.Failure ??= FailureText(e);
            abort.Cancel();
        }
        catch (UnauthorizedAccessException e)
        {
            _result.Failure ??= $"cannot write a tape under {options.Vault}: {e.Message}";
            abort.Cancel();
        }
    }

    private async Task SendAsync(StreamWriter lines, string id, Func<string, string> line, CancellationToken token)
    {
        // Queued before sending, so the reader always knows which id the next reply should name.
        _awaiting.Enqueue(id);
        await lines.WriteLineAsync(line(id).AsMemory(), token);
        await lines.FlushAsync(token);
        _result.Sent++;
    }

    private string FailureText(IOException e) =>
        e.InnerException is SocketException s
            ? $"connection to {options.EmsHost}:{options.EmsPort} failed: {s.Message}"
            : $"I/O failure: {e.Message}";

    private async Task ReadRepliesAsync(NetworkStream stream, int expected, CancellationTokenSource abort)
    {
        using var lines = new StreamReader(stream, new UTF8Encoding(false), false, 1 << 12, leaveOpen: true);
        var replies = 0;
        try
        {
            while (replies < expected)
            {
                var line = await lines.ReadLineAsync(abort.Token);
                if (line is null)
                {
                    _result.Failure ??= $"the node closed the connection after {replies} of {expected} replies";
                    abort.Cancel();
                    return;
                }
                replies++;
                _awaiting.TryDequeue(out var expectedId);
                Classify(line, expectedId);
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
        }
        catch (IOException e)
        {
            _result.Failure ??= FailureText(e);
            abort.Cancel();
        }
    }

    private void Classify(string line, string? expectedId)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ack", out var ack))
            {
                _result.Acks++;
                if (root.TryGetProperty("ignored", out _)) _result.Ignored++;
                if (ack.ValueKind != JsonValueKind.String || ack.GetString() != expectedId)
                    AddError($"reply out of order: expected an answer to '{expectedId}', got {line}");
                return;
            }
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("nak", out var nak))
            {
                _result.Naks++;
                var error = root.TryGetProperty("error", out var e) ? e.ToString() : "(no error given)";
                AddError($"nak {nak}: {error}");
                return;
            }
            AddError($"reply is neither an ack nor a nak: {line}");
        }
        catch (JsonException)
        {
            AddError($"reply is not JSON: {line}");
        }
    }

    private void AddError(string text)
    {
        _result.ErrorCount++;
        if (_result.Errors.Count < MaxErrorsKept) _result.Errors.Add(text);
    }
}
