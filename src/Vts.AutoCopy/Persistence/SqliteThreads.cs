using System.Collections.Concurrent;

namespace Vts.AutoCopy.Persistence;

/// <summary>Threads of their own for SQLite's blocking calls (Microsoft.Data.Sqlite is synchronous). On the .NET thread
/// pool, hundreds of recoveries at once each held a pool thread for a statement, and whenever the pool was short of
/// threads (2 cores start it with 2) the recoveries and everything else waited for it to grow: in the test suite,
/// journal tests stalled for 20 s to over a minute. Here they queue for these threads instead, and the pool stays free.</summary>
internal sealed class SqliteThreads : TaskScheduler
{
    /// <summary>For recoveries' reads, shared by the journal and the snapshot store of the process.</summary>
    public static readonly SqliteThreads Readers = new("sqlite-read", Math.Max(4, 2 * Environment.ProcessorCount));

    /// <summary>For the journal's group inserts: one at a time anyway (group commit), and never queued behind reads.</summary>
    public static readonly SqliteThreads Writer = new("sqlite-write", 1);

    private readonly BlockingCollection<Task> _queue = new();
    private readonly int _threads;

    private SqliteThreads(string name, int threads)
    {
        _threads = threads;
        for (var i = 0; i < threads; i++)
            new Thread(() =>
            {
                foreach (var task in _queue.GetConsumingEnumerable()) TryExecuteTask(task);
            }) { IsBackground = true, Name = $"{name}-{i}" }.Start();
    }

    public Task<T> Run<T>(Func<T> work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this);

    public Task Run(Action work) => Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this);

    public override int MaximumConcurrencyLevel => _threads;

    protected override void QueueTask(Task task) => _queue.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();
}
