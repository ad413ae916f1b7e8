using System.Security.Cryptography;

namespace Vts.Testing;

public static class TapeFiles
{
    /// <summary>Writes a tape of random bytes and returns its SHA-256 (lower-case hex).</summary>
    public static string Write(string path, long size, int seed = 1)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        var block = new byte[1024 * 1024];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var file = File.Create(path))
        {
            for (long left = size; left > 0; left -= block.Length)
            {
                random.NextBytes(block);
                var n = (int)Math.Min(left, block.Length);
                file.Write(block, 0, n);
                sha.AppendData(block, 0, n);
            }
        }
        return Convert.ToHexStringLower(sha.GetCurrentHash());
    }

    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>The temporary files of a volser's attempts in a target pool folder.</summary>
    /// <summary>How many whole <paramref name="unit"/>s of <paramref name="partial"/> (an attempt's temporary file)
    /// hold what <paramref name="source"/> holds there: what a resume from it can prove (R17).</summary>
    public static int UnitsLike(string partial, string source, long unit)
    {
        using var theirs = File.OpenRead(partial);
        using var ours = File.OpenRead(source);
        var (a, b) = (new byte[unit], new byte[unit]);
        var alike = 0;
        for (long at = 0; at + unit <= theirs.Length; at += unit)
        {
            theirs.Position = ours.Position = at;
            theirs.ReadExactly(a);
            if (ours.ReadAtLeast(b, (int)unit, throwOnEndOfStream: false) == unit && a.AsSpan().SequenceEqual(b)) alike++;
        }
        return alike;
    }

    /// <summary>Whether any process on this machine holds <paramref name="path"/> open (an sftp-server still writing
    /// what a cut attempt had sent, say): read from every process's open files in /proc.</summary>
    public static bool HeldOpen(string path)
    {
        var full = Path.GetFullPath(path);
        foreach (var fds in Directory.EnumerateDirectories("/proc", "[0-9]*").Select(p => Path.Combine(p, "fd")))
        {
            try
            {
                if (Directory.EnumerateFileSystemEntries(fds).Any(fd => new FileInfo(fd).LinkTarget == full)) return true;
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // Gone meanwhile, or another user's.
            }
        }
        return false;
    }

    public static string[] Temporary(string poolDir, string volser) =>
        Directory.Exists(poolDir) ? Directory.GetFiles(poolDir, Vts.AutoCopy.Transport.SftpTapeTransport.TemporaryNames(volser)) : [];

    /// <summary>Waits until a transfer has begun writing a volser's temporary file in a target pool folder; its path.</summary>
    public static async Task<string> WaitUntilWriting(string poolDir, string volser)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (Temporary(poolDir, volser).FirstOrDefault(f => new FileInfo(f).Length > 0) is { } path) return path;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the transfer never started writing {volser} in {poolDir}");
            await Task.Delay(10);
        }
    }
}
