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
}
