using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Licensing;

/// <summary>What a license key grants: to <paramref name="Holder"/>, at site <paramref name="Site"/>, these
/// <paramref name="Features"/>, through <paramref name="Expires"/> (the last day it is valid, UTC).</summary>
public sealed record LicenseTerms(string Holder, string Site, IReadOnlyList<string> Features, DateOnly Expires, DateOnly Issued)
{
    /// <summary>AutoCopy and Instant DR are licensed by the same key (R12).</summary>
    public const string AutoCopy = "autocopy";

    public const string InstantDr = "instant-dr";

    public static readonly IReadOnlyList<string> KnownFeatures = [AutoCopy, InstantDr];
}

/// <summary>The outcome of checking a license key: its terms, or why it is refused.</summary>
public abstract record LicenseCheck
{
    public sealed record Valid(LicenseTerms Terms) : LicenseCheck;

    public sealed record Refused(string Reason) : LicenseCheck;
}

/// <summary>A license key (docs/configuration.md, License) is text: <c>VTS1.</c>, the terms as JSON in base64url, a dot, and the issuer's
/// ECDSA P-256 signature (SHA-256, IEEE P1363) over those base64url characters, in base64url. It is verified offline
/// with the issuer's public key, which the product ships (<see cref="Issuer"/>). Operators paste keys, so the text is
/// read as hostile input: every malformed key is a reason, never an exception.</summary>
public static class LicenseKey
{
    private const string Prefix = "VTS1.";

    /// <summary>Far longer than any real key: a pasted file of something else is refused before it is parsed.</summary>
    public const int MaxLength = 4096;

    /// <summary>The public key of the issuer this build trusts: <c>Licensing/issuer.pub.pem</c>, built in. A deployment
    /// with its own issuer builds with <c>-p:LicenseIssuerPublicKey=FILE</c> (README, "License").</summary>
    public static ECDsa Issuer { get; } = LoadIssuer();

    /// <summary>The SHA-256 of the test issuer's public key (its SubjectPublicKeyInfo, DER), in hex. This repository's
    /// builds trust that issuer, and its private key is in the repository (tests issue keys with it): a build that
    /// trusts it accepts keys anyone can sign, and says so (<c>vtsctl license show</c>, the node's start-up log).</summary>
    public const string TestIssuerFingerprint = "ee6b841f5b38b692fbd0be84358671ec01306c2ad1a4b8cc8afcde0b135257d4";

    /// <summary>Whether this build trusts the repository's test issuer (<see cref="TestIssuerFingerprint"/>).</summary>
    public static bool TrustsTestIssuer { get; } = IsTestIssuer(Issuer);

    public static bool IsTestIssuer(ECDsa issuer) => Fingerprint(issuer) == TestIssuerFingerprint;

    /// <summary>An issuer's public key in one line: SHA-256 of its SubjectPublicKeyInfo (what <c>openssl pkey -pubin
    /// -outform DER | sha256sum</c> prints for its PEM).</summary>
    public static string Fingerprint(ECDsa issuer) => Convert.ToHexStringLower(SHA256.HashData(issuer.ExportSubjectPublicKeyInfo()));

    /// <summary>Whether <paramref name="key"/> is a genuine key for this site's AutoCopy, valid on <paramref name="today"/>.</summary>
    public static LicenseCheck Verify(string key, string site, DateOnly today, ECDsa? issuer = null)
    {
        key = key.Trim();
        if (key.Length > MaxLength) return new LicenseCheck.Refused($"malformed: {key.Length} characters, more than a license key has ({MaxLength})");
        if (!key.StartsWith(Prefix, StringComparison.Ordinal)) return new LicenseCheck.Refused("malformed: not a VTS license key (it begins with 'VTS1.')");
        var parts = key[Prefix.Length..].Split('.');
        if (parts.Length != 2) return new LicenseCheck.Refused("malformed: a key is VTS1.<terms>.<signature>");
        if (Base64Url(parts[0]) is not { } payload || Base64Url(parts[1]) is not { } signature)
            return new LicenseCheck.Refused("malformed: not base64url text");
        if (!(issuer ?? Issuer).VerifyData(Encoding.ASCII.GetBytes(parts[0]), signature, HashAlgorithmName.SHA256))
            return new LicenseCheck.Refused("forged: the signature is not the issuer's");
        if (Terms(payload) is not { } terms) return new LicenseCheck.Refused("malformed: the signed terms cannot be read");
        if (terms.Site != site) return new LicenseCheck.Refused($"for another site: issued for site {terms.Site}, this is site {site}");
        if (!terms.Features.Contains(LicenseTerms.AutoCopy)) return new LicenseCheck.Refused($"does not license AutoCopy (features: {string.Join(", ", terms.Features)})");
        if (terms.Expires < today) return new LicenseCheck.Refused($"expired on {terms.Expires:yyyy-MM-dd}");
        return new LicenseCheck.Valid(terms);
    }

    /// <summary>A key for <paramref name="terms"/>, signed with the issuer's private key: for the issuer's own tool and
    /// for tests, never used by a node.</summary>
    public static string Issue(LicenseTerms terms, ECDsa issuerPrivateKey)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new
        {
            holder = terms.Holder, site = terms.Site, features = terms.Features,
            expires = terms.Expires.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            issued = terms.Issued.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        });
        var payload = Base64UrlEncode(json);
        return $"{Prefix}{payload}.{Base64UrlEncode(issuerPrivateKey.SignData(Encoding.ASCII.GetBytes(payload), HashAlgorithmName.SHA256))}";
    }

    private static LicenseTerms? Terms(byte[] payload)
    {
        try
        {
            using var json = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 4 });
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            DateOnly? Day(string name) => DateOnly.TryParseExact(Text(name), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
            if (Text("holder") is not { Length: > 0 and <= 200 } holder || Text("site") is not { Length: > 0 and <= 64 } site
                || Day("expires") is not { } expires || Day("issued") is not { } issued
                || !root.TryGetProperty("features", out var list) || list.ValueKind != JsonValueKind.Array)
                return null;
            var features = list.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!).ToList();
            return new LicenseTerms(Printable.Clip(holder), site, features, expires, issued);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static byte[]? Base64Url(string text)
    {
        if (text.Length == 0 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))) return null;
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Base64UrlEncode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static ECDsa LoadIssuer()
    {
        using var stream = typeof(LicenseKey).Assembly.GetManifestResourceStream("Vts.AutoCopy.Licensing.issuer.pub.pem")
            ?? throw new InvalidOperationException("the issuer's public key is not built in");
        using var reader = new StreamReader(stream);
        var issuer = ECDsa.Create();
        issuer.ImportFromPem(reader.ReadToEnd());
        return issuer;
    }

    /// <summary>A new site id: "VTS-" and 12 characters of Crockford's base32, journaled once at a cluster's first start.</summary>
    public static string NewSiteId() =>
        "VTS-" + new string(RandomNumberGenerator.GetBytes(12).Select(b => "0123456789ABCDEFGHJKMNPQRSTVWXYZ"[b % 32]).ToArray());
}
