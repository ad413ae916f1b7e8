using Renci.SshNet;
using Renci.SshNet.Common;
using Vts.AutoCopy.Configuration;

namespace Vts.AutoCopy.Transport;

/// <summary>Why a write at the target failed, in the target's terms. SFTP version 3 (OpenSSH's) has no status for a
/// full disk or a read-only file system: both come back as "Failure", and a command channel whose writer died says
/// only that the channel closed. So after a failed attempt the target's file system is asked directly
/// (statvfs@openssh.com on the pool folder): read-only, no space for the tape, no free inodes, a folder that is not
/// there, or one the user may not write (a probe file tried there). Only on failure: a copy that works costs nothing.</summary>
internal static class TargetFault
{
    /// <summary>The cause to report for <paramref name="fault"/>: what the file system shows, followed by what the
    /// transfer saw; the transfer's own words alone when the file system shows nothing wrong or cannot be asked.</summary>
    public static async Task<string> Explain(SftpClient sftp, TargetSettings target, string poolDir, long length, Exception fault,
        CancellationToken cancellation)
    {
        var seen = $"transfer to {target.Name} failed: {fault.Message}";
        // EACCES and EPERM: SFTP's own status, or the receiver's strerror.
        if (fault is SftpPermissionDeniedException || fault.Message.Contains("Permission denied", StringComparison.OrdinalIgnoreCase)
            || fault.Message.Contains("Operation not permitted", StringComparison.OrdinalIgnoreCase))
            return $"permission denied at the target: {target.User}@{target.Name} may not write in {poolDir} ({seen})";
        try
        {
            return await FileSystemProblem(sftp, target, poolDir, length, cancellation) is { } problem ? $"{problem} ({seen})" : seen;
        }
        catch (Exception)
        {
            return seen; // the target cannot be asked (gone, or no statvfs extension): its first words stand
        }
    }

    /// <summary>What is wrong with the file system under <paramref name="poolDir"/> for a tape of
    /// <paramref name="length"/> bytes, or null when nothing is.</summary>
    public static async Task<string?> FileSystemProblem(SftpClient sftp, TargetSettings target, string poolDir, long length,
        CancellationToken cancellation)
    {
        var folder = poolDir;
        if (!await sftp.ExistsAsync(poolDir, cancellation))
        {
            if (!await sftp.ExistsAsync(target.VaultRoot, cancellation))
                return $"the vault root {target.VaultRoot} does not exist on {target.Name}";
            folder = target.VaultRoot; // the pool folder could not be made: its parent's file system says why
        }
        var status = await sftp.GetStatusAsync(folder, cancellation);
        if (status.IsReadOnly) return $"{folder} on {target.Name} is on a read-only file system";
        var free = (long)UInt128.Min((UInt128)status.AvailableBlocks * status.BlockSize, long.MaxValue); // a hostile answer cannot overflow it
        if (free < length)
            return $"no space left at the target: {folder} on {target.Name} has {Bytes(free)} free, the tape is {Bytes(length)}";
        if (status.TotalNodes > 0 && status.AvailableNodes == 0) return $"no free inodes left in {folder} on {target.Name}";
        // A folder the user may not write (its modes, an immutable flag, an SELinux label): a file tried there says so.
        // The writer that died first (cat behind a shell) took its words with it.
        var probe = $"{folder.TrimEnd('/')}/.autocopy.probe.{Guid.NewGuid():N}";
        try
        {
            await using (await sftp.OpenAsync(probe, FileMode.CreateNew, FileAccess.Write, cancellation)) { }
            await sftp.DeleteFileAsync(probe, cancellation);
        }
        catch (SftpPermissionDeniedException)
        {
            return $"permission denied at the target: {target.User}@{target.Name} may not write in {folder}";
        }
        return null;
    }

    private static string Bytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):F1} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{n / 1024.0:F1} KiB",
        _ => $"{n} B",
    };
}
