using System.Globalization;
using System.Text.Json;
using Vts.Sim;

// vts-sim: writes tapes into a vault and sends the matching EMS events to a node (README).
const int AllAcknowledged = 0, Failed = 1, BadArguments = 2;

var options = SimOptions.Parse(args, out var error, out var help);
if (help)
{
    Console.WriteLine(SimOptions.Usage);
    return AllAcknowledged;
}
if (options is null)
{
    Console.Error.WriteLine($"vts-sim: {error}");
    Console.Error.WriteLine();
    Console.Error.WriteLine(SimOptions.Usage);
    return BadArguments;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Let the loops stop so the summary still shows what was sent before the interrupt.
    e.Cancel = true;
    stop.Cancel();
};

TapeKey? key = null;
if (options.KeyServer is { } keyServer)
{
    try
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        key = await TapeKey.CreateAsync(keyServer, deadline.Token);
        Console.WriteLine($"  key created   : '{key.KeyId}' in key server {keyServer.Name} ({keyServer.Host}:{keyServer.Port})");
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"vts-sim: no key from key server {keyServer.Host}:{keyServer.Port}: {e.Message}");
        return Failed;
    }
}

var simulator = new Simulator(options, key);
SimResult result;
try
{
    result = await simulator.RunAsync(stop.Token);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"vts-sim: {e.Message}");
    return Failed;
}

if (!result.Connected)
{
    // Nothing was sent or written, so a summary would only repeat zeros.
    Console.Error.WriteLine($"vts-sim: {result.Failure}");
    return Failed;
}

var written = simulator.Tapes.Where(t => t.Writes > 0).ToList();
var encrypted = written.Count(t => t.Encrypted);
var events = result.Acks + result.Naks;
var rate = result.ElapsedSeconds > 0 ? result.Sent / result.ElapsedSeconds : 0;
var inv = CultureInfo.InvariantCulture;

Console.WriteLine(string.Create(inv, $"vts-sim: {options.Cycles} cycles to {options.EmsHost}:{options.EmsPort} in {result.ElapsedSeconds:0.00} s ({rate:0.0} events/s)"));
Console.WriteLine($"  tapes written : {written.Count} of {options.Tapes} ({written.Sum(t => t.Writes)} writes of {options.Size} bytes, {encrypted} encrypted)");
Console.WriteLine($"  mounts        : {result.Ring} ring, {result.Noring} noring");
Console.WriteLine($"  replies       : {result.Acks} acks ({result.Ignored} ignored), {result.Naks} naks, {result.Sent - events} missing of {result.Sent} sent");
foreach (var e in result.Errors)
    Console.WriteLine($"    {e}");
if (result.ErrorCount > result.Errors.Count)
    Console.WriteLine($"    … and {result.ErrorCount - result.Errors.Count} more");

if (options.SummaryFile is { } summaryFile)
{
    var summary = new
    {
        cycles = options.Cycles,
        ring = result.Ring,
        noring = result.Noring,
        encrypted,
        acks = result.Acks,
        naks = result.Naks,
        ignored = result.Ignored,
        sent = result.Sent,
        elapsedSeconds = Math.Round(result.ElapsedSeconds, 3),
        eventsPerSecond = Math.Round(rate, 1),
        startedAt = result.StartedAt,
        finishedAt = result.FinishedAt,
        tapesWritten = written.Count,
        size = options.Size,
        errors = result.Errors,
        failure = result.Failure,
        tapes = simulator.Tapes.Select(t => new
        {
            pool = t.Pool,
            volser = t.Volser,
            ring = t.LastMountRing,
            mounts = t.Mounts,
            writes = t.Writes,
            encrypted = t.Encrypted,
            bytes = t.Bytes,
            sha256 = t.Sha256,
        }),
    };
    try
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(summaryFile));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(summaryFile, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"vts-sim: cannot write the summary to {summaryFile}: {e.Message}");
        return Failed;
    }
}

if (result.Failure is not null)
{
    Console.Error.WriteLine($"vts-sim: {result.Failure}");
    return Failed;
}
if (result.Naks > 0 || result.ErrorCount > 0)
{
    Console.Error.WriteLine($"vts-sim: {result.Naks} events were not acknowledged (nak), {result.ErrorCount - result.Naks} other bad replies");
    return Failed;
}
return AllAcknowledged;
