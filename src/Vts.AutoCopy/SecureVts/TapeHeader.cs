using System.Text;
using System.Text.Json;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.SecureVts;

/// <summary>What a tape's first bytes say about SecureVTS (R11): a tape encrypted by SecureVTS begins with the 8 ASCII
/// bytes <c>VTSENC01</c> and one line of JSON, <c>{"keyServer":"kms1","keyId":"…","kcv":"…"}</c>, ending in a newline
/// within 4 KiB. These bytes are read from a vault anyone with write access can fill, so every malformed header is a
/// cause of its own, never an exception.</summary>
public abstract record TapeHeader
{
    public static ReadOnlySpan<byte> Magic => "VTSENC01"u8;

    /// <summary>The JSON line, its newline included, may take at most this many bytes.</summary>
    public const int MaxLine = 4096;

    /// <summary>How many of a tape's first bytes <see cref="Parse"/> needs to decide.</summary>
    public const int Needed = 8 + MaxLine;

    /// <summary>Not encrypted by SecureVTS: copied as opaque bytes.</summary>
    public sealed record Plain : TapeHeader;

    /// <param name="KeyId">the key's KMIP unique identifier.</param>
    /// <param name="Kcv">the key check value: the first 16 bytes of HMAC-SHA256(key, "VTS-KCV").</param>
    public sealed record Encrypted(string KeyServer, string KeyId, byte[] Kcv) : TapeHeader;

    public sealed record Malformed(string Cause) : TapeHeader;

    /// <summary>Decides from the tape's first bytes: at least <see cref="Needed"/> of them, or the whole tape if shorter.</summary>
    public static TapeHeader Parse(ReadOnlySpan<byte> first)
    {
        if (first.Length < Magic.Length || !first.StartsWith(Magic)) return new Plain();
        var rest = first[Magic.Length..];
        var end = rest[..Math.Min(rest.Length, MaxLine)].IndexOf((byte)'\n');
        if (end < 0)
            return new Malformed(rest.Length >= MaxLine
                ? $"SecureVTS header has no end of line within {MaxLine} bytes"
                : $"SecureVTS header is cut short: the tape ends after {first.Length} bytes, before the header's end of line");
        var line = rest[..end];
        if (line.IndexOf((byte)0) >= 0) return new Malformed("SecureVTS header contains a NUL byte");
        try
        {
            using var json = JsonDocument.Parse(line.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            if (json.RootElement.ValueKind != JsonValueKind.Object) return new Malformed("SecureVTS header is not a JSON object");
            var keyServer = Text(json.RootElement, "keyServer");
            var keyId = Text(json.RootElement, "keyId");
            var kcv = Text(json.RootElement, "kcv");
            if (keyServer is null || keyId is null || kcv is null)
                return new Malformed($"SecureVTS header lacks {string.Join(", ", new[] { ("keyServer", keyServer), ("keyId", keyId), ("kcv", kcv) }.Where(f => f.Item2 is null).Select(f => f.Item1))}");
            if (!IsKeyServerName(keyServer))
                return new Malformed($"SecureVTS header names key server '{Printable.Clip(keyServer)}', which is not a key server name");
            if (keyId.Length is 0 or > 256 || keyId.Any(char.IsControl))
                return new Malformed($"SecureVTS header's keyId '{Printable.Clip(keyId)}' is not a key identifier (1 to 256 printable characters)");
            if (kcv.Length != 32 || !kcv.All(c => char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c)))
                return new Malformed($"SecureVTS header's kcv '{Printable.Clip(kcv)}' is not 32 lower-case hex digits");
            return new Encrypted(keyServer, keyId, Convert.FromHexString(kcv));
        }
        catch (JsonException e)
        {
            return new Malformed($"SecureVTS header is not JSON: {Printable.Clip(e.Message)}");
        }
        catch (InvalidOperationException e)
        {
            // A string that is JSON but not text (a lone surrogate escape, bytes that are not UTF-8) fails only when read.
            return new Malformed($"SecureVTS header holds a string that is not text: {Printable.Clip(e.Message)}");
        }
    }

    /// <summary>Key server names as <c>vts.securevts.key-servers</c> keys them.</summary>
    public static bool IsKeyServerName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    private static string? Text(JsonElement header, string field) =>
        header.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The header written at the start of a tape encrypted under a key (the simulator and tests write them).</summary>
    public static byte[] Write(string keyServer, string keyId, byte[] kcv) =>
        [.. Magic, .. Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { keyServer, keyId, kcv = Convert.ToHexStringLower(kcv) })), (byte)'\n'];
}
