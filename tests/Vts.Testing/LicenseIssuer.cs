using System.Security.Cryptography;
using Vts.AutoCopy.Licensing;

namespace Vts.Testing;

/// <summary>Issues license keys as the issuer does, with the test issuer's private key (license-issuer.test-key.pem,
/// built into this assembly). This repository's builds trust its public key (src/Vts.AutoCopy/Licensing/issuer.pub.pem):
/// a release is built with the real issuer's public key in its place, and then these keys are refused as forged.</summary>
public static class LicenseIssuer
{
    private static readonly Lazy<ECDsa> Key = new(() =>
    {
        using var stream = typeof(LicenseIssuer).Assembly.GetManifestResourceStream("Vts.Testing.license-issuer.test-key.pem")!;
        var key = ECDsa.Create();
        key.ImportFromPem(new StreamReader(stream).ReadToEnd());
        return key;
    });

    public static string Issue(string site, DateOnly expires, string holder = "Example Storage Ltd", params string[] features) =>
        LicenseKey.Issue(new LicenseTerms(holder, site, features.Length > 0 ? features : [LicenseTerms.AutoCopy, LicenseTerms.InstantDr],
            expires, DateOnly.FromDateTime(DateTime.UtcNow)), Key.Value);

    /// <summary>A key for <paramref name="site"/> valid for a year from today.</summary>
    public static string ForAYear(string site) => Issue(site, DateOnly.FromDateTime(DateTime.UtcNow).AddYears(1));
}
