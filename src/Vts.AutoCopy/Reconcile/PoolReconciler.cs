using System.Security.Cryptography;
using Akka.Actor;
using Mono.Unix.Native;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.Reconcile;

/// <summary>A tape file at the target, as one listing of its pool folder shows it.</summary>
public sealed record TargetFile(string Name, long Size);

/// <summary>Sees a target's pool folder in bulk: one SFTP listing, and hashes the target computes in place; never a
/// round trip per tape, never a tape's bytes read back over the link.</summary>
public interface ITargetListing
{
    /// <summary>The regular files of <paramref name="targetPool"/>'s folder at <paramref name="target"/> (links and
    /// anything else left out); empty when the folder is not there.</summary>
    Task<IReadOnlyList<TargetFile>> ListPool(TargetSettings target, PoolName targetPool, CancellationToken cancellation);

    /// <summary>The lower-case hex SHA-256 of each tape of the target pool, computed by the target; null for one it
    /// could not hash (gone since the listing). Throws where the target cannot hash in place.</summary>
    Task<IReadOnlyList<string?>> HashInPlace(TargetSettings target, PoolName targetPool, IReadOnlyList<string> volsers,
        CancellationToken cancellation);
}

/// <summary>One volser of a reconcile, as each side holds it (null: not there).</summary>
public sealed record ReconcileEntry(string Volser, long? Here, long? There);

/// <summary>Both sides of a pool, listed once, in volser order (ordinal): the order a reconcile checks them in, so
/// its journaled progress is the last volser checked.</summary>
public sealed record ReconcileListing(IReadOnlyList<ReconcileEntry> Entries, int SourceTapes, int TargetTapes);

/// <summary>What a copy was not made for, and why (mounted, owed already, no answer in time).</summary>
public sealed record NotMade(string Volser, string Why);

/// <summary>The differences found among some entries, and the copies made due for them.</summary>
/// <param name="ContentDiffers">the same size at both, another SHA-256 at the target (content checks only).</param>
/// <param name="OnlyAtTarget">the target holds them and the source does not: reported, never deleted.</param>
public sealed record ReconcileFindings(IReadOnlyList<string> Missing, IReadOnlyList<string> SizeDiffers,
    IReadOnlyList<string> ContentDiffers, IReadOnlyList<string> OnlyAtTarget, int Made, IReadOnlyList<NotMade> NotMade);

/// <summary>The comparison a reconcile makes (day two: tapes that were there before AutoCopy, copies lost or rotted at
/// the target), without the bookkeeping of <see cref="PoolReconcileActor"/>: both sides listed in bulk, then entries
/// checked a slice at a time, a copy made due for each difference through the tape's own actor (journaled like any
/// copy, then R5–R9 as usual).</summary>
public static class PoolReconciler
{
    /// <summary>How many copies are asked for at once (each is a journal write on the tape's owner).</summary>
    private const int InFlight = 64;

    public static async Task<ReconcileListing> List(string vaultRoot, PoolSettings pool, TargetSettings target, ITargetListing listing,
        CancellationToken cancellation)
    {
        var here = SourceTapes(Path.Combine(vaultRoot, pool.Name.Value));
        var there = (await listing.ListPool(target, pool.TargetPool, cancellation))
            .Where(f => Volser.TryParse(f.Name, out _, out _))
            .ToDictionary(f => f.Name, f => f.Size, StringComparer.Ordinal);
        var entries = here.Keys.Union(there.Keys).Order(StringComparer.Ordinal)
            .Select(v => new ReconcileEntry(v, here.TryGetValue(v, out var h) ? h : null, there.TryGetValue(v, out var t) ? t : null))
            .ToList();
        return new ReconcileListing(entries, here.Count, there.Count);
    }

    /// <param name="pools">takes <see cref="RequestCopy"/>: the pool's own supervisor, or the pools' shard region.</param>
    /// <param name="verifyContent">tapes of the same size on both sides are hashed, here and by the target in place.</param>
    public static async Task<ReconcileFindings> Check(string vaultRoot, PoolSettings pool, TargetSettings target, ITargetListing listing,
        IReadOnlyList<ReconcileEntry> entries, bool dryRun, bool verifyContent, IActorRef pools, TimeSpan askTimeout,
        CancellationToken cancellation)
    {
        var missing = entries.Where(e => e.Here is not null && e.There is null).Select(e => e.Volser).ToList();
        var sized = entries.Where(e => e.Here is not null && e.There is not null && e.Here != e.There).ToDictionary(e => e.Volser);
        var sizeDiffers = entries.Where(e => sized.ContainsKey(e.Volser)).Select(e => e.Volser).ToList();
        var onlyAtTarget = entries.Where(e => e.Here is null).Select(e => e.Volser).ToList();
        var contentDiffers = new List<string>();
        if (verifyContent)
        {
            var same = entries.Where(e => e.Here is not null && e.Here == e.There).Select(e => e.Volser).ToList();
            // The target hashes while the source is read here: the slice costs the slower of the two, not their sum.
            var thereHashes = listing.HashInPlace(target, pool.TargetPool, same, cancellation);
            var hereHashes = await HashHere(Path.Combine(vaultRoot, pool.Name.Value), same, cancellation);
            var atTarget = await thereHashes;
            for (var i = 0; i < same.Count; i++)
                if (hereHashes[i] is { } sha && atTarget[i] != sha) contentDiffers.Add(same[i]);
        }

        var made = 0;
        var notMade = new List<NotMade>();
        if (!dryRun)
        {
            var asks = missing.Select(v => (Volser: v, Reason: $"missing at {target.Name}:{pool.TargetPool}"))
                .Concat(sizeDiffers.Select(v => (Volser: v, Reason: $"{sized[v].There} bytes at {target.Name}, {sized[v].Here} here")))
                .Concat(contentDiffers.Select(v => (Volser: v, Reason: $"another SHA-256 at {target.Name}")));
            foreach (var batch in asks.Chunk(InFlight))
            {
                var answers = await Task.WhenAll(batch.Select(async ask =>
                {
                    try
                    {
                        return (ask.Volser, Answer: await pools.Ask<CopyRequestAnswer>(
                            new RequestCopy(pool.Name, Volser.Parse(ask.Volser), ask.Reason), askTimeout, cancellation));
                    }
                    catch (Exception e) when (e is AskTimeoutException || e is TaskCanceledException && !cancellation.IsCancellationRequested)
                    {
                        return (ask.Volser, Answer: new CopyRequestAnswer(false, "no answer in time; reconcile again"));
                    }
                }));
                foreach (var (volser, answer) in answers)
                    if (answer.Made) made++;
                    else notMade.Add(new NotMade(volser, answer.Detail));
            }
        }
        return new ReconcileFindings(missing, sizeDiffers, contentDiffers, onlyAtTarget, made, notMade);
    }

    /// <summary>SHA-256 of each source tape, opened as a copy opens it (R15: a regular file, never through a link);
    /// null for one that is gone or is no tape now.</summary>
    private static async Task<string?[]> HashHere(string folder, IReadOnlyList<string> volsers, CancellationToken cancellation)
    {
        var hashes = new string?[volsers.Count];
        for (var i = 0; i < volsers.Count; i++)
        {
            try
            {
                await using var tape = SourceTape.Open(Path.Combine(folder, volsers[i]));
                hashes[i] = Convert.ToHexStringLower(await SHA256.HashDataAsync(tape, cancellation));
            }
            catch (IOException)
            {
                hashes[i] = null;
            }
        }
        return hashes;
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
