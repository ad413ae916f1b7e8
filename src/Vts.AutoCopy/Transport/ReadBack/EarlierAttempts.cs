using Renci.SshNet;
using Renci.SshNet.Sftp;

namespace Vts.AutoCopy.Transport.ReadBack;

/// <summary>
/// R17 on a target that runs nothing but SFTP: the temporary files earlier attempts at a volser left in its target pool
/// folder, seen in one listing (a listing shows each entry as it is, lstat's view; SSH.NET resolves links in every path
/// it is given). Only files no attempt can still be writing count: untouched for <c>quiet</c> by the target's own clock,
/// which is read off the file this attempt has just created there (the two machines' clocks may differ).
/// </summary>
/// <remarks>Where our receiver runs, a resume copies what it proves into a file of its own and a writer still at the old
/// one changes nothing of it. Over SFTP alone nothing can be copied at the target, so an earlier file is taken over
/// (renamed to this attempt's name) and written into: it must be one no writer holds. An attempt that is moving bytes
/// touches its file all the time; one untouched for twice the operation timeout has been cut by its own stall watch
/// (1.5×), or its node is gone.</remarks>
internal static class EarlierAttempts
{
    /// <param name="Resumable">the largest quiet one, to be taken over; null when there is none.</param>
    /// <param name="Stale">every quiet one, for the sweep after a copy that succeeds.</param>
    public sealed record Found(ISftpFile? Resumable, IReadOnlyList<ISftpFile> Stale);

    /// <param name="ours">this attempt's temporary file, just created; null when it is not there (then nothing is
    /// quiet: without the target's clock no age can be told).</param>
    public static async Task<Found> Look(SftpClient sftp, string poolDir, string volser, string ours, TimeSpan quiet, long length,
        CancellationToken cancellation)
    {
        var theirs = new List<ISftpFile>();
        DateTime? now = null;
        await foreach (var entry in sftp.ListDirectoryAsync(poolDir, cancellation))
        {
            if (entry.Name == ours) now = entry.LastWriteTimeUtc;
            else if (entry.IsRegularFile && SftpTapeTransport.IsTemporaryName(entry.Name, volser)) theirs.Add(entry);
        }
        if (now is not { } targetNow) return new Found(null, []);
        var stale = theirs.Where(f => f.LastWriteTimeUtc <= targetNow - quiet).ToList();
        // A file longer than the tape is not an earlier attempt at this tape as it is now.
        var resumable = stale.Where(f => f.Length > 0 && f.Length <= length).MaxBy(f => f.Length);
        return new Found(resumable, stale);
    }

    /// <summary>Removes the quiet ones a copy that succeeded left behind, each a regular file when listed; SSH.NET's
    /// delete resolves a link put there since, a moment this cannot close (as for every SFTP-only removal).</summary>
    public static async Task Sweep(SftpClient sftp, IEnumerable<ISftpFile> stale, CancellationToken cancellation)
    {
        foreach (var file in stale)
        {
            try
            {
                await sftp.DeleteFileAsync(file.FullName, cancellation);
            }
            catch (Exception) when (!cancellation.IsCancellationRequested)
            {
                // Gone already (another node's sweep), or not ours to remove: left for the operator.
            }
        }
    }
}
