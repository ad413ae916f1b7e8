namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>One request at a time onto a connection; the handles waiting their turn hold no thread.</summary>
/// <remarks>SSH.NET sends a request within the call that makes it, and blocks the calling thread while the connection
/// cannot take it: its socket full while the link is slower than the requests come, as when TCP starts up; the others
/// then block on its lock. Many handles that all send at once would block a thread of the pool each, and the pool would
/// starve (a copy 60 ms away moved nothing for its first 3 s). Behind the gate one thread per connection waits so, as
/// <see cref="TransferThreads"/> counts.</remarks>
internal sealed class SendGate : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>Makes the request (<paramref name="send"/> returns once SSH.NET sent it) in turn, and then waits for its
    /// answer without holding the gate.</summary>
    public async Task<T> Send<T>(Func<Task<T>> send, CancellationToken cancellation)
    {
        Task<T> answer;
        await _turn.WaitAsync(cancellation);
        try
        {
            answer = send();
        }
        finally
        {
            _turn.Release();
        }
        return await answer;
    }

    /// <inheritdoc cref="Send{T}"/>
    public async Task Send(Func<Task> send, CancellationToken cancellation) =>
        await Send(async () =>
        {
            await send();
            return true;
        }, cancellation);

    public void Dispose() => _turn.Dispose();
}
