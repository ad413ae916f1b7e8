using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Vts.Sim;

/// <summary>Writes tape files the way a VTS does as far as AutoCopy can tell: opaque bytes, or (SecureVTS, docs/configuration.md, SecureVTS)
/// a header naming the key server, key and key check value, then 8 random bytes (the tape's nonce prefix), then the
/// contents encrypted with AES-256-GCM in records of up to 1 MiB, each its ciphertext and 16-byte tag under the
/// 12-byte nonce of the prefix and the record's number (big-endian).</summary>
public static class TapeWriter
{
    private const int ChunkSize = 1 << 20;
    private const int TagSize = 16;

    /// <summary>(Re)writes <c>&lt;vault&gt;/&lt;pool&gt;/&lt;volser&gt;</c> and returns the SHA-256 (lower-case hex) of what was written.</summary>
    /// <param name="key">encrypt under this key (SecureVTS); none: plain bytes.</param>
    public static string Write(string vault, string pool, string volser, long size, TapeKey? key)
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
                void Put(ReadOnlySpan<byte> bytes)
                {
                    file.Write(bytes);
                    hash.AppendData(bytes);
                }
                long remaining = size;
                AesGcm? aes = null;
                var nonce = new byte[12];
                if (key is not null)
                {
                    var json = System.Text.Json.JsonSerializer.Serialize(new
                    {
                        keyServer = key.KeyServer, keyId = key.KeyId, kcv = Convert.ToHexStringLower(key.CheckValue),
                    });
                    var header = Encoding.UTF8.GetBytes($"VTSENC01{json}\n");
                    Put(header);
                    remaining -= header.Length; // the header counts toward --size; a tiny --size just gets the header
                    aes = new AesGcm(key.Key, TagSize);
                    RandomNumberGenerator.Fill(nonce.AsSpan(0, 8));
                    Put(nonce.AsSpan(0, 8));
                    remaining -= 8;
                }
                using (aes)
                {
                    var plain = new byte[ChunkSize];
                    var sealedRecord = new byte[ChunkSize + TagSize];
                    for (var record = 0u; remaining > 0; record++)
                    {
                        // Each encrypted record carries its tag: the plaintext is what is left less that.
                        var n = (int)Math.Min(ChunkSize, aes is null ? remaining : Math.Max(remaining - TagSize, 1));
                        Random.Shared.NextBytes(plain.AsSpan(0, n));
                        if (aes is null)
                        {
                            Put(plain.AsSpan(0, n));
                            remaining -= n;
                            continue;
                        }
                        BinaryPrimitives.WriteUInt32BigEndian(nonce.AsSpan(8), record);
                        aes.Encrypt(nonce, plain.AsSpan(0, n), sealedRecord.AsSpan(0, n), sealedRecord.AsSpan(n, TagSize));
                        Put(sealedRecord.AsSpan(0, n + TagSize));
                        remaining -= n + TagSize;
                    }
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
