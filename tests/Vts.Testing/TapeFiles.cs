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

    /// <summary>Waits until a transfer has begun writing <paramref name="path"/> (a tape's temporary file at the target).</summary>
    public static async Task WaitUntilWriting(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(File.Exists(path) && new FileInfo(path).Length > 0))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the transfer never started writing {path}");
            await Task.Delay(10);
        }
    }
}
