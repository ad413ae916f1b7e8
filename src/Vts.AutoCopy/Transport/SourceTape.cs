using Microsoft.Win32.SafeHandles;
using Mono.Unix.Native;

namespace Vts.AutoCopy.Transport;

/// <summary>R15 at the source: what is under a tape's name in the vault is not a regular file in its pool's folder.</summary>
/// <param name="security">a link, FIFO, device or folder under a tape's name (or a linked pool folder): someone put it
/// there, and operators must hear of it as a security matter; false for a tape that is simply gone.</param>
public sealed class SourceRefusedException(string message, bool security) : IOException(message)
{
    public bool Security { get; } = security;
}

/// <summary>Opens a tape in the source vault for reading, and only a regular file. What is under the tape's name is
/// looked at first (lstat) and anything but a regular file is refused without being opened: opening a device runs its
/// driver (a tape drive rewinds), and a FIFO or a terminal has effects of its own. A symbolic link is never followed
/// (O_NOFOLLOW; a linked pool folder is refused too), opening never blocks (O_NONBLOCK: a FIFO swapped in after the
/// look would otherwise hold the open, its transfer slot and its tape actor for ever), and no terminal becomes this
/// process's controlling terminal (O_NOCTTY). The opened file must then be the one looked at (fstat: same device and
/// inode, still a regular file), so nothing swapped in between the look and the open is read.
/// <para>The BCL opens without O_NOFOLLOW or O_NONBLOCK and reports no file types beyond folders and links, so the
/// calls go through Mono.Unix's POSIX bindings.</para></summary>
public static class SourceTape
{
    /// <exception cref="SourceRefusedException">not a regular file, or not there.</exception>
    public static FileStream Open(string path)
    {
        var folder = Path.GetDirectoryName(path) ?? "/";
        if (Syscall.lstat(folder, out var pool) != 0)
            throw Stdlib.GetLastError() switch
            {
                Errno.ENOENT => new SourceRefusedException($"source tape file {path} not found", security: false),
                var errno => new SourceRefusedException($"source pool folder {folder} cannot be read: {errno}", security: false),
            };
        if ((pool.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFDIR)
            throw new SourceRefusedException($"source pool folder {folder} is {Kind(pool.st_mode)}, not a folder; nothing read (R15)", security: true);

        if (Syscall.lstat(path, out var seen) != 0)
            throw Stdlib.GetLastError() switch
            {
                Errno.ENOENT => new SourceRefusedException($"source tape file {path} not found", security: false),
                var errno => new SourceRefusedException($"source tape file {path} cannot be read: {errno}", security: false),
            };
        if ((seen.st_mode & FilePermissions.S_IFMT) == FilePermissions.S_IFLNK)
            throw new SourceRefusedException($"source tape {path} is a symbolic link; not followed (R15)", security: true);
        if ((seen.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFREG)
            throw new SourceRefusedException($"source tape {path} is {Kind(seen.st_mode)}, not a regular file; not opened (R15)", security: true);

        var fd = Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Stdlib.GetLastError();
            throw errno switch
            {
                Errno.ELOOP => new SourceRefusedException($"source tape {path} became a symbolic link as it was opened; not followed (R15)", security: true),
                Errno.ENOENT => new SourceRefusedException($"source tape file {path} not found", security: false),
                _ => new SourceRefusedException($"source tape file {path} cannot be read: {errno}", security: false),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (Syscall.fstat(fd, out var stat) != 0)
                throw new SourceRefusedException($"source tape file {path} cannot be read: {Stdlib.GetLastError()}", security: false);
            if ((stat.st_mode & FilePermissions.S_IFMT) != FilePermissions.S_IFREG || stat.st_dev != seen.st_dev || stat.st_ino != seen.st_ino)
                throw new SourceRefusedException(
                    $"source tape {path} was replaced as it was opened (now {Kind(stat.st_mode)}); not read (R15)", security: true);
            // Tapes are read from start to end: the kernel may read ahead (what FileOptions.SequentialScan asks for).
            Syscall.posix_fadvise(fd, 0, 0, PosixFadviseAdvice.POSIX_FADV_SEQUENTIAL);
            // O_NONBLOCK means nothing to a regular file's reads: the stream reads as from any other open.
            return new FileStream(handle, FileAccess.Read, bufferSize: 1);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static string Kind(FilePermissions mode) => (mode & FilePermissions.S_IFMT) switch
    {
        FilePermissions.S_IFLNK => "a symbolic link",
        FilePermissions.S_IFDIR => "a folder",
        FilePermissions.S_IFIFO => "a FIFO",
        FilePermissions.S_IFCHR => "a character device",
        FilePermissions.S_IFBLK => "a block device",
        FilePermissions.S_IFSOCK => "a socket",
        FilePermissions.S_IFREG => "a regular file",
        var other => $"of type {other}",
    };
}
