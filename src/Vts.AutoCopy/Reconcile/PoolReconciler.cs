using Akka.Actor;
using Mono.Unix.Native;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.Reconcile;

/// <summary>A tape file at the target, as one listing of its pool folder shows it.</summary>
public sealed record TargetFile(string Name, long Size);

/// <summary>Lists a target's pool folder in bulk: one SFTP listing, no round trip per tape.</summary>
public interface ITargetListing
{
    /// <summary>The regular files of <paramref name="targetPool"/>'s folder at <paramref name="target"/> (links and
    /// anything else left out); empty when the folder is not there.</summary>
    Task<IReadOnlyList<TargetFile>> ListPool(TargetSettings target, PoolName targetPool, CancellationToken cancellation);
}

/// <param name="Missing">volsers the source pool holds and the target pool does not.</param>
/// <param name="SizeDiffers">volsers whose copy at the target has another size than the source tape.</param>
/// <param name="OnlyAtTarget">volsers the target pool holds and the source pool does not: reported, never deleted.</param>
/// <param name="Made">copies made due (none in a dry run).</param>
/// <param name="NotMade">differences a copy was not made for, each with why (mounted, owed already, no answer).</param>
public sealed record ReconcileReport(PoolName Pool, TargetName Target, PoolName TargetPool, bool DryRun, int SourceTapes, int TargetTapes,
    IReadOnlyList<string> Missing, IReadOnlyList<string> SizeDiffers, IReadOnlyList<string> OnlyAtTarget, int Made,
    IReadOnlyList<(string Volser, string Why)> NotMade, TimeSpan Elapsed);

/// <summary>Compares a pool with its target pool (day two: tapes that were there before AutoCopy, copies lost at the
/// target) and, unless it is a dry run, makes a copy due for each difference through the tape's own actor: journaled
/// like any copy, then R5–R9 as usual. Both sides are listed once, in bulk: the source folder here, the target's over
/// one SFTP listing. Sizes only: a copy of the right size whose bytes rotted is not seen (content is not compared).</summary>
public static class PoolReconciler
{
    /// <summary>How many copies are asked for at once (each is a journal write on the tape's owner).</summary>
    private const int InFlight = 64;

    /// <param name="pools">takes <see cref="RequestCopy"/>: the pools' shard region, or the pool's own supervisor.</param>
    public static async Task<ReconcileReport> Run(string vaultRoot, AutoCopySettings autoCopy, PoolName pool, ITargetListing listing,
        IActorRef pools, bool dryRun, TimeSpan askTimeout, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var poolSettings = autoCopy.Pools[pool];
        var target = autoCopy.Targets[poolSettings.Target];
        var source = SourceTapes(Path.Combine(vaultRoot, pool.Value));
        var there = (await listing.ListPool(target, poolSettings.TargetPool, cancellation))
            .Where(f => Volser.TryParse(f.Name, out _, out _))
            .ToDictionary(f => f.Name, f => f.Size, StringComparer.Ordinal);

        var missing = source.Keys.Where(v => !there.ContainsKey(v)).Order(StringComparer.Ordinal).ToList();
        var sizeDiffers = source.Where(t => there.TryGetValue(t.Key, out var size) && size != t.Value).Select(t => t.Key)
            .Order(StringComparer.Ordinal).ToList();
        var onlyAtTarget = there.Keys.Where(v => !source.ContainsKey(v)).Order(StringComparer.Ordinal).ToList();

        var made = 0;
        var notMade = new List<(string, string)>();
        if (!dryRun)
        {
            var asks = missing.Select(v => (Volser: v, Reason: $"missing at {target.Name}:{poolSettings.TargetPool}"))
                .Concat(sizeDiffers.Select(v => (Volser: v, Reason: $"{there[v]} bytes at {target.Name}, {source[v]} here")));
            foreach (var batch in asks.Chunk(InFlight))
            {
                var answers = await Task.WhenAll(batch.Select(async ask =>
                {
                    try
                    {
                        return (ask.Volser, Answer: await pools.Ask<CopyRequestAnswer>(
                            new RequestCopy(pool, Volser.Parse(ask.Volser), ask.Reason), askTimeout, cancellation));
                    }
                    catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                    {
                        return (ask.Volser, Answer: new CopyRequestAnswer(false, "no answer in time; reconcile again"));
                    }
                }));
                foreach (var (volser, answer) in answers)
                    if (answer.Made) made++;
                    else notMade.Add((volser, answer.Detail));
            }
        }
        return new ReconcileReport(pool, target.Name, poolSettings.TargetPool, dryRun, source.Count, there.Count, missing, sizeDiffers,
            onlyAtTarget, made, notMade, clock.Elapsed);
    }

    /// <summary>The pool folder's tapes: regular files named like a volser, by lstat (R15: links, FIFOs and the rest
    /// are not tapes).</summary>
    private static Dictionary<string, long> SourceTapes(string folder)
    {
        var tapes = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!Directory.Exists(folder)) return tapes;
        foreach (var path in Directory.EnumerateFileSystemEntries(folder))
        {
            var name = Path.GetFileName(path);
            if (!Volser.TryParse(name, out _, out _)) continue;
            if (Syscall.lstat(path, out var stat) != 0 || (stat.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFREG) continue;
            tapes[name] = stat.st_size;
        }
        return tapes;
    }
}
