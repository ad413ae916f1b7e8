using System.Collections.Concurrent;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Ems;

/// <summary>Finds the pool that holds a volser (EMS text names no pool). Volsers are unique across the pools of a
/// vault, so the first pool folder holding the file is the one; answers are cached and checked on each use. JSON events
/// name their pool: there the tape's file is only looked for.</summary>
public sealed class VaultLocator(string vaultRoot)
{
    private readonly ConcurrentDictionary<Volser, PoolName> _known = new();

    /// <summary>Whether <paramref name="pool"/>'s folder holds a tape named <paramref name="volser"/>.</summary>
    public bool Holds(PoolName pool, Volser volser) => File.Exists(Path.Combine(vaultRoot, pool.Value, volser.Value));

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
