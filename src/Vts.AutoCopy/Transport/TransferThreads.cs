namespace Vts.AutoCopy.Transport;

/// <summary>How many threads the transfers need at once, given to the thread pool up front.</summary>
/// <remarks>SSH.NET waits by blocking the calling thread: for window space while it sends, for a command's output
/// while it reads, for a key exchange while it connects. A tape in chunks keeps a sender and a reader blocked per
/// connection for as long as its bytes flow. On the thread pool these starve everything queued behind them (the other
/// connections' sends, the node's actors), because the pool adds threads beyond its minimum, the number of cores, only
/// one or two a second. Measured over a 50 ms link with the default minimum: a 256 MiB tape in 4 chunks moved nothing
/// for 0.7 s of its 6.4 s, and the first copy over new connections took 13.0 s; with this minimum 5.8 and 7.8 s.
/// </remarks>
public static class TransferThreads
{
    /// <summary>Threads the node's other work may want at once besides transfers (actors, journal, admin, EMS).</summary>
    private const int Others = 16;

    /// <summary>A sender and a reader for every connection of every transfer the node may run at once.</summary>
    public static int Needed(int maxConcurrentTransfers) => Others + 2 * Stripes.MaxCount * Math.Max(1, maxConcurrentTransfers);

    /// <summary>Raises the thread pool's minimum to <see cref="Needed"/>; never lowers it.</summary>
    public static void Reserve(int maxConcurrentTransfers)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, Needed(maxConcurrentTransfers)), completionPorts);
    }
}
