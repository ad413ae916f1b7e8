using Vts.AutoCopy.Configuration;
using Xunit;

namespace Vts.AutoCopy.Tests.Configuration;

/// <summary>R10 with a known_hosts file, read as OpenSSH reads it: markers, patterns, hashed names, damaged lines.</summary>
public sealed class KnownHostsTests : IDisposable
{
    // Two ed25519 public key blobs (base64), generated for these tests only.
    private const string KeyA = "AAAAC3NzaC1lZDI1NTE5AAAAIG8kYf7m5Fz4lH9M5q4ZtRrC2G1j8k3Z1uK3wH9x0t1A";
    private const string KeyB = "AAAAC3NzaC1lZDI1NTE5AAAAIB6yT1w8s9vK2m0Qp4cJr7xN3hL5zD8fE1gA2bC3dE4F";
    private static readonly string A = HostKeyFingerprint.Of(Convert.FromBase64String(KeyA));
    private static readonly string B = HostKeyFingerprint.Of(Convert.FromBase64String(KeyB));
    private readonly string _file = Path.GetTempFileName();

    public void Dispose() => File.Delete(_file);

    private HostKeyFingerprint.KnownHostKeys Read(string text, string host = "dr-vts.example", int port = 22)
    {
        File.WriteAllText(_file, text);
        return HostKeyFingerprint.FromKnownHosts(_file, host, port);
    }

    [Fact]
    public void A_key_marked_revoked_is_revoked_even_when_it_is_also_pinned()
    {
        var known = Read($"""
            dr-vts.example ssh-ed25519 {KeyA}
            @revoked * ssh-ed25519 {KeyA}
            dr-vts.example ssh-ed25519 {KeyB}
            """);
        Assert.Equal([A, B], known.Pinned);
        Assert.Equal([A], known.Revoked);
        Assert.False(known.CertificateAuthority);
    }

    [Fact]
    public void A_cert_authority_line_pins_nothing_and_is_reported()
    {
        var known = Read($"@cert-authority *.example ssh-ed25519 {KeyA}\n");
        Assert.Empty(known.Pinned);
        Assert.True(known.CertificateAuthority);
    }

    [Theory]
    [InlineData("dr-vts.example", 22, true)]
    [InlineData("DR-VTS.EXAMPLE", 22, true)]
    [InlineData("dr-vts.example", 2222, false)]
    [InlineData("other.example", 22, true)]
    [InlineData("bad.example", 22, false)]
    [InlineData("example", 22, false)]
    public void Patterns_match_as_in_OpenSSH_with_wildcards_negation_and_ports(string host, int port, bool pinned)
    {
        var known = Read($"*.example,!bad.example ssh-ed25519 {KeyA}\n", host, port);
        Assert.Equal(pinned, known.Pinned.Contains(A));
        Assert.Contains(B, Read($"[dr-vts.example]:2222 ssh-ed25519 {KeyB}\n", "dr-vts.example", 2222).Pinned);
    }

    [Fact]
    public void Damaged_comment_and_unknown_marker_lines_pin_nothing()
    {
        var known = Read($"""
            # a comment
            dr-vts.example ssh-ed25519 not-base64!!!
            dr-vts.example ssh-ed25519
            @frobnicate dr-vts.example ssh-ed25519 {KeyA}
            {new string('*', 10_000)} ssh-ed25519 {KeyB}

            """);
        Assert.Empty(known.Pinned);
        Assert.Empty(known.Revoked);
    }
}
