using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Vts.Kmip;

namespace Vts.Sim;

/// <summary>The key the simulated SecureVTS encrypts tapes under: created and activated in a real KMIP key server, so a
/// node can fetch it by its identifier and check it against the tapes' headers.</summary>
public sealed record TapeKey(string KeyServer, string KeyId, byte[] Key)
{
    /// <summary>docs/configuration.md, SecureVTS's key check value: the first 16 bytes of HMAC-SHA256(key, "VTS-KCV").</summary>
    public byte[] CheckValue => HMACSHA256.HashData(Key, "VTS-KCV"u8)[..16];

    public static async Task<TapeKey> CreateAsync(SimKeyServer server, CancellationToken cancellation)
    {
        X509Certificate2Collection authorities = [];
        authorities.ImportFromPemFile(server.CaFile);
        var endpoint = new KmipEndpoint(server.Host, server.Port, authorities, X509Certificate2.CreateFromPemFile(server.CertFile, server.KeyFile));
        await using var kmip = await KmipClient.ConnectAsync(endpoint, cancellation);
        var id = await kmip.CreateActiveAes256KeyAsync(cancellation);
        return new TapeKey(server.Name, id, await kmip.GetSymmetricKeyAsync(id, cancellation));
    }
}
