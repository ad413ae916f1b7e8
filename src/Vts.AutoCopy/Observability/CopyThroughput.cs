using System.Collections.Concurrent;

namespace Vts.AutoCopy.Observability;

/// <summary>Totals and the last minute of completed copies on this node, for the status page.</summary>
public static class CopyThroughput
{
    private static readonly ConcurrentQueue<(DateTimeOffset At, long Bytes)> Recent = new();
    private static long _copies;
    private static long _bytes;

    public static long Copies => Interlocked.Read(ref _copies);
    public static long Bytes => Interlocked.Read(ref _bytes);

    public static void Record(long bytes)
    {
        Interlocked.Increment(ref _copies);
        Interlocked.Add(ref _bytes, bytes);
        Recent.Enqueue((DateTimeOffset.UtcNow, bytes));
        Prune();
    }

    public static double MiBPerSecondLastMinute()
    {
        Prune();
        return Recent.Sum(r => r.Bytes) / (1024.0 * 1024.0) / 60.0;
    }

    private static void Prune()
    {
        var horizon = DateTimeOffset.UtcNow.AddMinutes(-1);
        while (Recent.TryPeek(out var oldest) && oldest.At < horizon) Recent.TryDequeue(out _);
    }
}
