using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;

namespace Vts.AutoCopy.Configuration;

/// <summary>A KMIP key server as a tape's SecureVTS header names it (R11), its certificates read once at start.</summary>
/// <param name="Authorities">the certificate authorities the server's certificate must chain to (ca-file).</param>
/// <param name="ClientCertificate">ours, with its private key, presented to the server (client-cert-file, client-key-file).</param>
public sealed record KeyServerSettings(string Name, string Host, int Port, X509Certificate2Collection Authorities, X509Certificate2 ClientCertificate)
{
    public Vts.Kmip.KmipEndpoint Endpoint => new(Host, Port, Authorities, ClientCertificate);
}

/// <summary><c>vts.securevts</c>: whether this node may handle tapes encrypted by SecureVTS, and the key servers it
/// checks their keys with.</summary>
public sealed record SecureVtsSettings(bool Enabled, ImmutableDictionary<string, KeyServerSettings> KeyServers)
{
    public static readonly SecureVtsSettings Off = new(false, ImmutableDictionary<string, KeyServerSettings>.Empty);
}
