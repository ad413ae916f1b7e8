using System.Collections.Concurrent;

namespace Vts.AutoCopy.SecureVts;

/// <summary>Keys that checked out (R11), by key server, key id and check value — never the key — each taken as still
/// there for a bounded time. Entries that ran out are dropped whenever one is added, so what is held is at most the
/// keys checked within the last <c>remembered</c>, however long the node runs and however many keys it meets.</summary>
internal sealed class CheckedKeys(TimeSpan remembered, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Server, string KeyId, string Kcv), DateTimeOffset> _until = new();

    public int Count => _until.Count;

    public bool Contains((string Server, string KeyId, string Kcv) key) =>
        _until.TryGetValue(key, out var until) && until > time.GetUtcNow();

    public void Add((string Server, string KeyId, string Kcv) key)
    {
        var now = time.GetUtcNow();
        foreach (var (old, until) in _until)
            if (until <= now)
                _until.TryRemove(KeyValuePair.Create(old, until)); // only if not renewed meanwhile
        _until[key] = now + remembered;
    }
}
