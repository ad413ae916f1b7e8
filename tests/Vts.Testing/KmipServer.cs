using System.Collections.Immutable;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.SecureVts;
using Vts.Kmip;

namespace Vts.Testing;

/// <summary>A real KMIP key server for tests: Debian's <c>pykmip-server</c> (python3-pykmip) on a free loopback port,
/// with a throwaway certificate authority, a server certificate for 127.0.0.1 and client certificates made by openssl.
/// It speaks TLS 1.2 and asks for a client certificate; a key belongs to the client (certificate CN) that created it.
/// It does not stop on SIGTERM in good time: it and the helper processes it starts are killed with SIGKILL.</summary>
public sealed class KmipServer : IAsyncDisposable
{
    private Process _process;

    public string Dir { get; }
    public int Port { get; }

    private KmipServer(string dir, int port, Process process)
    {
        Dir = dir;
        Port = port;
        _process = process;
    }

    public string CaFile => Path.Combine(Dir, "ca.crt");

    public string CertFile(string client) => Path.Combine(Dir, $"{client}.crt");

    public string KeyFile(string client) => Path.Combine(Dir, $"{client}.key");

    /// <summary>A server with client certificates for "vts-node" (the node's) and "other-node" (someone else's).</summary>
    public static async Task<KmipServer> Start()
    {
        var dir = Directory.CreateTempSubdirectory("vts-kmip-").FullName;
        await MakeCertificates(dir, "vts-node", "other-node");
        Directory.CreateDirectory(Path.Combine(dir, "policies"));
        var port = Sshd.FreePort();
        // Only the ECDHE suites: PyKMIP's default list starts with one without forward secrecy.
        await File.WriteAllTextAsync(Path.Combine(dir, "server.conf"), $"""
            [server]
            hostname=127.0.0.1
            port={port}
            certificate_path={dir}/server.crt
            key_path={dir}/server.key
            ca_path={dir}/ca.crt
            auth_suite=TLS1.2
            policy_path={dir}/policies
            enable_tls_client_auth=True
            tls_cipher_suites=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
            logging_level=INFO
            database_path={dir}/pykmip.db
            """);
        var server = new KmipServer(dir, port, Launch(dir));
        await server.WaitUntilServing(TimeSpan.FromSeconds(60));
        return server;
    }

    /// <summary>Debian's python3, not a pyenv shim's: the package is installed for that one.</summary>
    private static Process Launch(string dir) =>
        Process.Start(new ProcessStartInfo("/usr/bin/python3",
            ["/usr/bin/pykmip-server", "-f", Path.Combine(dir, "server.conf"), "-l", Path.Combine(dir, "server.log")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;

    /// <summary>Killed, as a key server that goes down; its keys stay in its database.</summary>
    public async Task Stop()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Started again on the same port, with the same keys.</summary>
    public async Task Restart()
    {
        _process.Dispose();
        _process = Launch(Dir);
        await WaitUntilServing(TimeSpan.FromSeconds(60));
    }

    /// <summary>How the node names this server: <c>vts.securevts.key-servers.NAME { … }</c> in HOCON.</summary>
    public string Hocon(string name, string client = "vts-node") =>
        $"{name} {{ host = \"127.0.0.1\", port = {Port}, ca-file = \"{CaFile}\", client-cert-file = \"{CertFile(client)}\", client-key-file = \"{KeyFile(client)}\" }}";

    public KeyServerSettings Settings(string name, string client = "vts-node")
    {
        X509Certificate2Collection authorities = [];
        authorities.ImportFromPemFile(CaFile);
        return new KeyServerSettings(name, "127.0.0.1", Port, authorities, X509Certificate2.CreateFromPemFile(CertFile(client), KeyFile(client)));
    }

    /// <summary>A new active AES-256 key owned by <paramref name="client"/>: its unique identifier and its bytes.</summary>
    public async Task<(string Id, byte[] Key)> CreateKey(string client = "vts-node")
    {
        await using var kmip = await KmipClient.ConnectAsync(Settings("test", client).Endpoint, CancellationToken.None);
        var id = await kmip.CreateActiveAes256KeyAsync(CancellationToken.None);
        return (id, await kmip.GetSymmetricKeyAsync(id, CancellationToken.None));
    }

    /// <summary>The first bytes of a tape encrypted under the key: the SecureVTS header naming it, then "ciphertext".</summary>
    public static byte[] EncryptedTape(string keyServer, string keyId, byte[] key, int bodyBytes = 4096) =>
        [.. TapeHeader.Write(keyServer, keyId, TapeKeyCheck.CheckValue(key)), .. new byte[bodyBytes]];

    private async Task WaitUntilServing(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var settings = Settings("probe");
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"pykmip-server exited {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync()}");
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await using var _ = await KmipClient.ConnectAsync(settings.Endpoint, attempt.Token);
                return;
            }
            catch (Exception e) when (clock.Elapsed < timeout && e is not InvalidOperationException)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task MakeCertificates(string dir, params string[] clients)
    {
        async Task OpenSsl(params string[] args) => await Sshd.Run("openssl", args);
        string At(string file) => Path.Combine(dir, file);
        await OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-sha256", "-keyout", At("ca.key"), "-out", At("ca.crt"),
            "-subj", "/CN=vts-test-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        async Task Issue(string name, string subject, string extensions)
        {
            await File.WriteAllTextAsync(At($"{name}.ext"), extensions);
            await OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", At($"{name}.key"), "-out", At($"{name}.csr"), "-subj", subject);
            await OpenSsl("x509", "-req", "-in", At($"{name}.csr"), "-CA", At("ca.crt"), "-CAkey", At("ca.key"), "-CAcreateserial",
                "-days", "30", "-sha256", "-extfile", At($"{name}.ext"), "-out", At($"{name}.crt"));
        }
        await Issue("server", "/CN=127.0.0.1", """
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth
            subjectAltName=IP:127.0.0.1,DNS:localhost
            """);
        // The certificate's CN is the client's identity at the server, and owns the keys it creates.
        foreach (var client in clients)
            await Issue(client, $"/CN={client}", """
                basicConstraints=CA:FALSE
                keyUsage=critical,digitalSignature,keyEncipherment
                extendedKeyUsage=clientAuth
                """);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
