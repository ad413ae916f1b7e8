using System.Collections.Concurrent;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Ems;

/// <summary>Finds the pool that holds a volser (EMS text names no pool). Volsers are unique across the pools of a
/// vault, so the first pool folder holding the file is the one; answers are cached and checked on each use.</summary>
public sealed class VaultLocator(string vaultRoot)
{
    private readonly ConcurrentDictionary<Volser, PoolName> _known = new();

    public PoolName? FindPool(Volser volser)
    {
        if (_known.TryGetValue(volser, out var cached) && File.Exists(Path.Combine(vaultRoot, cached.Value, volser.Value)))
            return cached;
        foreach (var folder in Directory.EnumerateDirectories(vaultRoot))
        {
            if (!PoolName.TryParse(Path.GetFileName(folder), out var pool, out _)) continue;
            if (!File.Exists(Path.Combine(folder, volser.Value))) continue;
            _known[volser] = pool;
            return pool;
        }
        _known.TryRemove(volser, out _);
        return null;
    }
}
