using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Vts.AutoCopy.Configuration;

/// <summary>SHA256 host key fingerprints in OpenSSH's form: "SHA256:" + unpadded base64 of the key blob's hash.</summary>
public static partial class HostKeyFingerprint
{
    public static bool IsWellFormed(string text) => Pattern().IsMatch(text);

    public static string Of(byte[] keyBlob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    /// <summary>The fingerprints pinned for a host in a known_hosts file (plain and hashed host entries).</summary>
    public static IReadOnlyList<string> FromKnownHosts(string knownHostsFile, string host, int port)
    {
        var name = port == 22 ? host : $"[{host}]:{port}";
        var found = new List<string>();
        foreach (var raw in File.ReadLines(knownHostsFile))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith('@')) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 3) continue;
            if (!HostMatches(parts[0], name)) continue;
            try { found.Add(Of(Convert.FromBase64String(parts[2]))); }
            catch (FormatException) { /* a damaged line pins nothing */ }
        }
        return found;
    }

    private static bool HostMatches(string field, string name)
    {
        if (field.StartsWith("|1|"))
        {
            var bits = field.Split('|');
            if (bits.Length < 4) return false;
            try
            {
                using var hmac = new HMACSHA1(Convert.FromBase64String(bits[2]));
                var hash = hmac.ComputeHash(System.Text.Encoding.ASCII.GetBytes(name));
                return Convert.ToBase64String(hash) == bits[3];
            }
            catch (FormatException) { return false; }
        }
        return field.Split(',').Any(h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
    }

    [GeneratedRegex("^SHA256:[A-Za-z0-9+/]{43}$")]
    private static partial Regex Pattern();
}
