using System.Security.Cryptography.X509Certificates;

namespace Vts.Kmip;

/// <summary>Where a key server is and how we prove ourselves to it and it to us.</summary>
/// <param name="Authorities">the certificate authorities the server's certificate must chain to; the certificate must
/// also name <paramref name="Host"/>.</param>
/// <param name="ClientCertificate">ours, with its private key: the server knows us by it (PyKMIP by its CN).</param>
public sealed record KmipEndpoint(string Host, int Port, X509Certificate2Collection Authorities, X509Certificate2 ClientCertificate);
