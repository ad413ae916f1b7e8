using System.Security.Cryptography;
using System.Text;
using Vts.AutoCopy.Licensing;
using Vts.Testing;
using Xunit;

namespace Vts.AutoCopy.Tests.Licensing;

/// <summary>docs/configuration.md, License: a key is verified offline against the issuer's public key; a forged, malformed, expired or
/// other-site key is refused with its reason.</summary>
public sealed class LicenseKeyTests
{
    private const string Site = "VTS-0123456789AB";
    private static readonly DateOnly Today = new(2026, 11, 30);

    private static LicenseCheck Verify(string key) => LicenseKey.Verify(key, Site, Today);

    private static string Reason(string key) => Assert.IsType<LicenseCheck.Refused>(Verify(key)).Reason;

    [Fact]
    public void A_key_from_the_issuer_for_this_site_names_its_terms()
    {
        var terms = Assert.IsType<LicenseCheck.Valid>(Verify(LicenseIssuer.Issue(Site, Today.AddDays(10), "ACME Tape"))).Terms;
        Assert.Equal(("ACME Tape", Site, Today.AddDays(10)), (terms.Holder, terms.Site, terms.Expires));
        Assert.Equal([LicenseTerms.AutoCopy, LicenseTerms.InstantDr], terms.Features);
        Assert.IsType<LicenseCheck.Valid>(Verify(LicenseIssuer.Issue(Site, Today))); // valid through its last day
    }

    [Fact]
    public void Each_refusal_says_why()
    {
        Assert.StartsWith("expired on 2026-11-29", Reason(LicenseIssuer.Issue(Site, Today.AddDays(-1))));
        Assert.StartsWith("for another site", Reason(LicenseIssuer.Issue("VTS-OTHERSITE000", Today.AddDays(10))));
        Assert.StartsWith("does not license AutoCopy", Reason(LicenseIssuer.Issue(Site, Today.AddDays(10), "x", LicenseTerms.InstantDr)));
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = LicenseKey.Issue(new LicenseTerms("Forger", Site, [LicenseTerms.AutoCopy], Today.AddYears(5), Today), stranger);
        Assert.StartsWith("forged", Reason(forged));
    }

    [Fact]
    public void Terms_changed_after_signing_are_forged()
    {
        var key = LicenseIssuer.Issue(Site, Today.AddDays(1));
        var parts = key.Split('.');
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1]))).Replace(Today.AddDays(1).ToString("yyyy-MM-dd"), "2099-12-31");
        var tampered = $"VTS1.{Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}.{parts[2]}";
        Assert.StartsWith("forged", Reason(tampered));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello")]
    [InlineData("VTS1.")]
    [InlineData("VTS1.abc")]
    [InlineData("VTS1.abc.def.ghi")]
    [InlineData("VTS1.a*b.cd")]
    [InlineData("VTS2.abc.def")]
    public void Malformed_text_is_refused_as_malformed(string key) => Assert.StartsWith("malformed", Reason(key));

    [Fact]
    public void An_oversized_paste_is_refused_before_it_is_read() =>
        Assert.Contains("more than a license key has", Reason("VTS1." + new string('A', 10_000) + ".AA"));

    [Fact]
    public void A_key_pasted_with_surrounding_blanks_is_still_read() =>
        Assert.IsType<LicenseCheck.Valid>(Verify($"  {LicenseIssuer.ForAYear(Site)}\n"));

    [Fact]
    public void Random_text_never_escapes_as_an_exception()
    {
        var random = new Random(12);
        var real = LicenseIssuer.ForAYear(Site);
        for (var i = 0; i < 5_000; i++)
        {
            var chars = real.ToCharArray();
            for (var flips = random.Next(1, 4); flips > 0; flips--) chars[random.Next(chars.Length)] = (char)random.Next(32, 127);
            Assert.NotNull(Verify(new string(chars, 0, random.Next(chars.Length + 1))));
        }
    }

    [Fact]
    public void Site_ids_are_distinct_and_readable()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => LicenseKey.NewSiteId()).ToHashSet();
        Assert.Equal(1000, ids.Count);
        Assert.All(ids, id => Assert.Matches("^VTS-[0-9A-HJKMNP-TV-Z]{12}$", id));
    }

    private static string Pad(string text) => text.Replace('-', '+').Replace('_', '/') + new string('=', (4 - text.Length % 4) % 4);

    [Fact]
    public void This_repositorys_build_trusts_the_test_issuer_whose_private_key_is_in_the_repository_and_knows_it()
    {
        using var stream = typeof(LicenseIssuer).Assembly.GetManifestResourceStream("Vts.Testing.license-issuer.test-key.pem")!;
        using var testIssuer = ECDsa.Create();
        testIssuer.ImportFromPem(new StreamReader(stream).ReadToEnd());
        Assert.Equal(LicenseKey.TestIssuerFingerprint, LicenseKey.Fingerprint(testIssuer));
        Assert.True(LicenseKey.IsTestIssuer(testIssuer));
        Assert.True(LicenseKey.TrustsTestIssuer);
    }

    [Fact]
    public void An_issuer_of_a_deployments_own_is_not_taken_for_the_test_issuer()
    {
        using var own = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False(LicenseKey.IsTestIssuer(own));
    }
}
