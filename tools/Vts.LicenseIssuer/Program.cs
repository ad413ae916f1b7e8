using System.Globalization;
using System.Security.Cryptography;
using Vts.AutoCopy.Licensing;

// vts-license-issue: signs a license key (docs/configuration.md, License) for a site, with the issuer's private key (PEM, ECDSA P-256).
// This repository's builds trust the test issuer, tests/Vts.Testing/license-issuer.test-key.pem.
const string Usage = """
    usage: vts-license-issue --key ISSUER-KEY.pem --site SITE-ID --holder NAME --expires YYYY-MM-DD [--features autocopy,instant-dr]

    Prints the key (one line) on stdout. The site id is what `vtsctl license show` prints on the site's cluster.
    Exit codes: 0 printed, 2 bad arguments.
    """;

string? keyFile = null, site = null, holder = null, expires = null, features = "autocopy,instant-dr";
for (var i = 0; i < args.Length; i++)
{
    if (i + 1 >= args.Length) return Fail($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--key": keyFile = args[++i]; break;
        case "--site": site = args[++i]; break;
        case "--holder": holder = args[++i]; break;
        case "--expires": expires = args[++i]; break;
        case "--features": features = args[++i]; break;
        default: return Fail($"unknown argument '{args[i]}'");
    }
}
if (keyFile is null || site is null || holder is null || expires is null) return Fail("--key, --site, --holder and --expires are required");
if (!DateOnly.TryParseExact(expires, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var lastDay))
    return Fail($"--expires must be YYYY-MM-DD, not '{expires}'");
var featureList = features.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
if (featureList.FirstOrDefault(f => !LicenseTerms.KnownFeatures.Contains(f)) is { } unknown)
    return Fail($"unknown feature '{unknown}' (known: {string.Join(", ", LicenseTerms.KnownFeatures)})");
using var issuer = ECDsa.Create();
try
{
    issuer.ImportFromPem(File.ReadAllText(keyFile));
}
catch (Exception e) when (e is IOException or ArgumentException or CryptographicException or UnauthorizedAccessException)
{
    return Fail($"{keyFile} is not a readable PEM private key: {e.Message}");
}
Console.WriteLine(LicenseKey.Issue(new LicenseTerms(holder, site, featureList, lastDay, DateOnly.FromDateTime(DateTime.UtcNow)), issuer));
return 0;

static int Fail(string message)
{
    Console.Error.WriteLine($"vts-license-issue: {message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
