using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Vts.AutoCopy.Configuration;

/// <summary>SHA256 host key fingerprints in OpenSSH's form: "SHA256:" + unpadded base64 of the key blob's hash.</summary>
public static partial class HostKeyFingerprint
{
    public static bool IsWellFormed(string text) => Pattern().IsMatch(text);

    public static string Of(byte[] keyBlob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    /// <summary>What a known_hosts file says of a host, as OpenSSH reads it: the fingerprints pinned for it (plain and
    /// hashed host entries, patterns with <c>*</c>, <c>?</c> and <c>!</c>), those marked <c>@revoked</c> (never trusted,
    /// even when also pinned), and whether a <c>@cert-authority</c> line names it (host certificates are not
    /// supported: such a line pins nothing here).</summary>
    public sealed record KnownHostKeys(IReadOnlyList<string> Pinned, IReadOnlyList<string> Revoked, bool CertificateAuthority);

    public static KnownHostKeys FromKnownHosts(string knownHostsFile, string host, int port)
    {
        var name = port == 22 ? host : $"[{host}]:{port}";
        var (pinned, revoked, authority) = (new List<string>(), new List<string>(), false);
        foreach (var raw in File.ReadLines(knownHostsFile))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var marker = parts[0].StartsWith('@') ? parts[0] : null;
            if (marker is not null) parts = parts[1..];
            if (parts.Length < 3 || !HostMatches(parts[0], name)) continue;
            string fingerprint;
            try { fingerprint = Of(Convert.FromBase64String(parts[2])); }
            catch (FormatException) { continue; } // a damaged line pins nothing
            switch (marker)
            {
                case null: pinned.Add(fingerprint); break;
                case "@revoked": revoked.Add(fingerprint); break;
                case "@cert-authority": authority = true; break;
                default: break; // a marker OpenSSH does not know either: the line pins nothing
            }
        }
        return new KnownHostKeys(pinned, revoked, authority);
    }

    /// <summary>A known_hosts host field: hashed (<c>|1|salt|hash</c>), or comma-separated patterns where <c>*</c> and
    /// <c>?</c> match as in a shell and a matching <c>!pattern</c> rules the host out.</summary>
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
        var patterns = field.Split(',');
        if (patterns.Any(p => p.StartsWith('!') && Glob(p[1..], name))) return false;
        return patterns.Any(p => !p.StartsWith('!') && Glob(p, name));
    }

    private static bool Glob(string pattern, string name) =>
        pattern.Length <= 255 && Regex.IsMatch(name,
            "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    [GeneratedRegex("^SHA256:[A-Za-z0-9+/]{43}$")]
    private static partial Regex Pattern();
}
