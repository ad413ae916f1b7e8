namespace Vts.AutoCopy.Persistence;

/// <summary>Reads for many callers in one round trip. Most recoveries come in crowds (a burst of EMS events for tapes not
/// in memory, pools waking their tapes after a restart or a failover): requests that arrive while a read is in flight
/// are read together in the next one, as the group commit does for writes. On a database in another process each round
/// trip costs a wake-up of its server process, which on this machine's two cores decided the ingest rate.</summary>
/// <param name="readCrowd">Answers every request of a crowd, in the crowd's order.</param>
internal sealed class CrowdReader<TRequest, TResult>(Func<IReadOnlyList<TRequest>, Task<TResult[]>> readCrowd)
{
    private readonly object _lock = new();
    private List<(TRequest Request, TaskCompletionSource<TResult> Answer)> _waiting = [];
    private bool _reading;

    public Task<TResult> Read(TRequest request)
    {
        var answer = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            _waiting.Add((request, answer));
            if (_reading) return answer.Task;
            _reading = true;
        }
        _ = Task.Run(ReadCrowds);
        return answer.Task;
    }

    private async Task ReadCrowds()
    {
        while (true)
        {
            List<(TRequest Request, TaskCompletionSource<TResult> Answer)> crowd;
            lock (_lock)
            {
                if (_waiting.Count == 0)
                {
                    _reading = false;
                    return;
                }
                crowd = _waiting;
                _waiting = [];
            }
            try
            {
                var results = await readCrowd(crowd.Select(c => c.Request).ToList());
                for (var i = 0; i < crowd.Count; i++) crowd[i].Answer.TrySetResult(results[i]);
            }
            catch (Exception e)
            {
                foreach (var (_, answer) in crowd) answer.TrySetException(e);
            }
        }
    }
}
