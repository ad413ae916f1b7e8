using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Vts.Kmip;

/// <summary>One connection to a KMIP 1.x key server: TTLV over TLS, our client certificate presented, the server's
/// certificate checked against the configured authority and the host name. One request at a time.</summary>
public sealed class KmipClient : IAsyncDisposable
{
    /// <summary>A Get of a symmetric key answers a few hundred bytes; more than this is not read.</summary>
    public const int MaxResponse = 64 * 1024;

    private readonly TcpClient _tcp;
    private readonly SslStream _tls;

    private KmipClient(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
    }

    /// <exception cref="SocketException">not reachable.</exception>
    /// <exception cref="AuthenticationException">TLS failed: the server's certificate is not trusted or not for this
    /// host, or it refused ours.</exception>
    public static async Task<KmipClient> ConnectAsync(KmipEndpoint server, CancellationToken cancellation)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(server.Host, server.Port, cancellation);
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            var trust = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            trust.CustomTrustStore.AddRange(server.Authorities);
            // A policy of our own replaces SslStream's, which asks for a certificate made for a server: ask for it too.
            trust.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = server.Host,
                // Key servers (PyKMIP's among them) need not name the authorities they accept: ours is always sent.
                ClientCertificateContext = SslStreamCertificateContext.Create(server.ClientCertificate, additionalCertificates: null, offline: true),
                CertificateChainPolicy = trust,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, cancellation);
            return new KmipClient(tcp, tls);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>KMIP Get: the raw bytes of the symmetric key with this unique identifier.</summary>
    public async Task<byte[]> GetSymmetricKeyAsync(string uniqueIdentifier, CancellationToken cancellation) =>
        KmipMessages.SymmetricKeyMaterial(await SendAsync(KmipMessages.Get(uniqueIdentifier), KmipOperation.Get, cancellation));

    /// <summary>KMIP Create of an AES-256 key, then Activate: its unique identifier.</summary>
    public async Task<string> CreateActiveAes256KeyAsync(CancellationToken cancellation)
    {
        var id = KmipMessages.UniqueIdentifierOf(await SendAsync(KmipMessages.CreateAes256(), KmipOperation.Create, cancellation));
        await SendAsync(KmipMessages.Activate(id), KmipOperation.Activate, cancellation);
        return id;
    }

    private async Task<TtlvItem> SendAsync(TtlvItem request, KmipOperation operation, CancellationToken cancellation)
    {
        // One write: a server may drop a request that arrives in pieces far apart (PyKMIP after 10 s).
        await _tls.WriteAsync(Ttlv.Encode(request), cancellation);
        await _tls.FlushAsync(cancellation);
        var message = await TtlvFrame.ReadAsync(_tls, MaxResponse, cancellation);
        try
        {
            return KmipMessages.Payload(Ttlv.Decode(message), operation);
        }
        finally
        {
            // A Get's answer holds the key: the caller gets its own copy, and wipes that.
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        _tcp.Dispose();
    }
}
