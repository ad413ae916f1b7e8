using System.Security.Cryptography;
using System.Text;

namespace Vts.Sim;

/// <summary>Writes tape files the way a VTS does as far as AutoCopy can tell: opaque bytes, or a SecureVTS header
/// (SPEC §4.6) followed by bytes that stand in for ciphertext.</summary>
public static class TapeWriter
{
    public const string KeyServer = "kms1";
    public const string KeyId = "k-2026-01";

    /// <summary>The key the simulated SecureVTS "used": SHA-256 of ASCII <c>vts-sim:kms1:k-2026-01</c>. It is fixed so a
    /// test can configure a key server that makes the header's key check pass.</summary>
    public static readonly byte[] SimKey = SHA256.HashData(Encoding.ASCII.GetBytes($"vts-sim:{KeyServer}:{KeyId}"));

    /// <summary>First 16 bytes of HMAC-SHA256(key, "VTS-KCV") in lower-case hex, as SPEC §4.6 defines the kcv.</summary>
    public static readonly string Kcv =
        Convert.ToHexStringLower(HMACSHA256.HashData(SimKey, Encoding.ASCII.GetBytes("VTS-KCV")).AsSpan(0, 16));

    private const int ChunkSize = 1 << 20;

    /// <summary>(Re)writes <c>&lt;vault&gt;/&lt;pool&gt;/&lt;volser&gt;</c> and returns the SHA-256 (lower-case hex) of what was written.</summary>
    public static string Write(string vault, string pool, string volser, long size, bool encrypted)
    {
        var folder = Path.Combine(vault, pool);
        Directory.CreateDirectory(folder);
        var final = Path.Combine(folder, volser);
        // Same folder, so the rename below is atomic: a node copying the tape sees the old or the new contents,
        // never half of each. The leading dot keeps the temporary out of anything that lists volsers.
        var temp = Path.Combine(folder, $".{volser}.{Guid.NewGuid():N}.tmp");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                long remaining = size;
                if (encrypted)
                {
                    var header = Encoding.ASCII.GetBytes(
                        $"VTSENC01{{\"keyServer\":\"{KeyServer}\",\"keyId\":\"{KeyId}\",\"kcv\":\"{Kcv}\"}}\n");
                    file.Write(header);
                    hash.AppendData(header);
                    remaining -= header.Length; // the header counts toward --size; a tiny --size just gets the header
                }
                var buffer = new byte[(int)Math.Min(ChunkSize, Math.Max(remaining, 0))];
                while (remaining > 0)
                {
                    var n = (int)Math.Min(buffer.Length, remaining);
                    Random.Shared.NextBytes(buffer.AsSpan(0, n));
                    file.Write(buffer, 0, n);
                    hash.AppendData(buffer, 0, n);
                    remaining -= n;
                }
                file.Flush(flushToDisk: false);
            }
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
