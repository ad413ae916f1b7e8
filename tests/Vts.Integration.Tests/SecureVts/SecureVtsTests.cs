using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.SecureVts;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.SecureVts;

/// <summary>One real KMIP key server (pykmip-server) for these tests.</summary>
public sealed class KmipServerFixture : IAsyncLifetime
{
    public KmipServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await KmipServer.Start();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(nameof(SecureVtsTests))]
public sealed class SecureVtsCollection : ICollectionFixture<KmipServerFixture>;

/// <summary>R11 against a real KMIP key server: each cause in its order, each its own kind; a key that checks out is
/// remembered for a bounded time only.</summary>
[Collection(nameof(SecureVtsTests))]
public sealed class SecureVtsTests(KmipServerFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vts-securevts-").FullName;
    private KmipServer Kmip => fixture.Server;

    private SecureVtsSettings Enabled(params KeyServerSettings[] servers) =>
        new(true, servers.ToImmutableDictionary(s => s.Name, StringComparer.Ordinal));

    private async Task<KeyCheckRefusal?> Check(TapeKeyCheck check, byte[] tape)
    {
        var path = Path.Combine(_dir, $"T{Guid.NewGuid():N}"[..8]);
        await File.WriteAllBytesAsync(path, tape);
        await using var file = File.OpenRead(path);
        return await check.CheckAsync(file.SafeFileHandle, CancellationToken.None);
    }

    [Fact]
    public async Task An_encrypted_tape_whose_key_the_server_holds_and_matches_is_let_through()
    {
        var (id, key) = await Kmip.CreateKey();
        Assert.Null(await Check(new TapeKeyCheck(Enabled(Kmip.Settings("kms1")), TimeProvider.System), KmipServer.EncryptedTape("kms1", id, key)));
    }

    [Fact]
    public async Task A_plain_tape_needs_no_key_server_even_with_SecureVTS_off() =>
        Assert.Null(await Check(TapeKeyCheck.Off, Encoding.ASCII.GetBytes("HDR1 an ordinary tape")));

    [Fact]
    public async Task Each_cause_is_told_apart_in_the_order_R11_gives()
    {
        var (id, key) = await Kmip.CreateKey();
        var tape = KmipServer.EncryptedTape("kms1", id, key);

        var disabled = await Check(TapeKeyCheck.Off, tape);
        Assert.Equal(FailureKind.SecureVtsDisabled, disabled!.Kind);
        Assert.Contains("vts.securevts.enabled = on", disabled.Cause);

        var notConfigured = await Check(new TapeKeyCheck(Enabled(Kmip.Settings("kms2")), TimeProvider.System), tape);
        Assert.Equal(FailureKind.KeyServerNotConfigured, notConfigured!.Kind);
        Assert.Contains("vts.securevts.key-servers.kms1", notConfigured.Cause);

        var nowhere = Kmip.Settings("kms1") with { Port = Sshd.FreePort() };
        var unreachable = await Check(new TapeKeyCheck(Enabled(nowhere), TimeProvider.System), tape);
        Assert.Equal(FailureKind.KeyServerUnreachable, unreachable!.Kind);

        var check = new TapeKeyCheck(Enabled(Kmip.Settings("kms1")), TimeProvider.System);
        var unknown = await Check(check, KmipServer.EncryptedTape("kms1", "99999", key));
        Assert.Equal(FailureKind.KeyNotFound, unknown!.Kind);
        Assert.Contains("'99999'", unknown.Cause);

        var wrongKey = await Check(check, [.. TapeHeader.Write("kms1", id, new byte[16]), 0]);
        Assert.Equal(FailureKind.KeyCheckFailed, wrongKey!.Kind);

        var malformed = await Check(check, "VTSENC01{\"keyServer\":\"kms1\"}\n"u8.ToArray());
        Assert.Equal(FailureKind.SecureVtsHeaderMalformed, malformed!.Kind);
    }

    [Fact]
    public async Task A_key_another_client_owns_is_not_found_for_this_node()
    {
        var (id, key) = await Kmip.CreateKey("other-node");
        var refused = await Check(new TapeKeyCheck(Enabled(Kmip.Settings("kms1")), TimeProvider.System), KmipServer.EncryptedTape("kms1", id, key));
        Assert.Equal(FailureKind.KeyNotFound, refused!.Kind);
        Assert.Contains("PermissionDenied", refused.Cause);
    }

    [Fact]
    public async Task A_server_whose_certificate_is_not_from_the_configured_authority_is_not_trusted()
    {
        var (id, key) = await Kmip.CreateKey();
        // Its own client certificate as the only authority: the server's certificate does not chain to it.
        var strangers = Kmip.Settings("kms1") with { Authorities = [Kmip.Settings("kms1").ClientCertificate] };
        var refused = await Check(new TapeKeyCheck(Enabled(strangers), TimeProvider.System), KmipServer.EncryptedTape("kms1", id, key));
        Assert.Equal(FailureKind.KeyServerUnreachable, refused!.Kind);
        Assert.Contains("TLS failed", refused.Cause);
    }

    [Fact]
    public async Task A_key_that_checked_out_is_remembered_only_for_a_while()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        TapeKeyCheck check;
        byte[] tape;
        await using (var own = await KmipServer.Start())
        {
            var (id, key) = await own.CreateKey();
            tape = KmipServer.EncryptedTape("kms1", id, key);
            check = new TapeKeyCheck(Enabled(own.Settings("kms1")), time);
            Assert.Null(await Check(check, tape));
        }
        // The server is gone: the key that checked out still passes, without asking, until the memory runs out.
        time.Advance(TapeKeyCheck.Remembered - TimeSpan.FromSeconds(1));
        Assert.Null(await Check(check, tape));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(FailureKind.KeyServerUnreachable, (await Check(check, tape))!.Kind);
    }

    /// <summary>A whole node: a tape under a configured key server is copied, one under another is refused with its own
    /// event-log id and kept due; the key never reaches the journal, the event log, the node's output or the target.</summary>
    [Fact]
    public async Task A_node_copies_a_tape_whose_key_checks_out_and_holds_one_whose_key_server_it_does_not_know()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: $"securevts {{ enabled = on, key-servers {{ {Kmip.Hocon("kms1")} }} }}");
        var (id, key) = await Kmip.CreateKey();
        Directory.CreateDirectory(Path.Combine(site.Vault, "POOL1"));
        await File.WriteAllBytesAsync(site.Tape("POOL1", "E00001"), KmipServer.EncryptedTape("kms1", id, key, bodyBytes: 1 << 20));
        await File.WriteAllBytesAsync(site.Tape("POOL1", "E00002"), KmipServer.EncryptedTape("kms9", id, key));
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(TimeSpan.FromSeconds(90)));
        Assert.True((await ems.Send(EmsClient.Dismount("e-1", "POOL1", "E00001"))).TryGetProperty("ack", out _));
        Assert.True((await ems.Send(EmsClient.Dismount("e-2", "POOL1", "E00002"))).TryGetProperty("ack", out _));

        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|224001|") && l.Contains("E00001")), TimeSpan.FromSeconds(60), "the encrypted copy");
        Assert.Equal(TapeFiles.Sha256(site.Tape("POOL1", "E00001")), TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, "DRPOOL1", "E00001")));
        await Wait.Until(() => site.EventLogLines().Count(l => l.Contains("|424011|") && l.Contains("E00002")) >= 2, TimeSpan.FromSeconds(60),
            "two refused attempts of the tape under kms9");
        Assert.Contains(site.EventLogLines(), l => l.Contains("|424011|") && l.Contains("kms9") && l.Contains("not configured"));
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "E00002")));
        Assert.Contains("tape.attempt-failed.v1", site.JournalManifests("tape-POOL1-E00002"));

        await node.Kill();
        await KeyWrittenNowhere(key, node.Output, site.State, sshd.VaultRoot);
    }

    /// <summary>R11: the key's bytes, and its hex and base64, are in no file below <paramref name="folders"/> (state dir:
    /// journal, snapshots, event log; the target's vault) and not in the node's <paramref name="output"/> (its log).</summary>
    public static async Task KeyWrittenNowhere(byte[] key, string output, params string[] folders)
    {
        var hex = Convert.ToHexStringLower(key);
        var base64 = Convert.ToBase64String(key);
        foreach (var file in folders.SelectMany(folder => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.True(bytes.AsSpan().IndexOf(key) < 0, $"the key's bytes are in {file}");
            var text = Encoding.Latin1.GetString(bytes);
            Assert.DoesNotContain(hex, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(base64, text);
        }
        Assert.DoesNotContain(hex, output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(base64, output);
    }

    /// <summary>A key server that goes down fails the attempts in between (424012), under the normal retry rule; once it
    /// is back, the next attempt's key check passes and the copy completes.</summary>
    [Fact]
    public async Task A_key_server_down_mid_series_fails_attempts_until_it_is_back_then_the_copy_completes()
    {
        await using var own = await KmipServer.Start();
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: $"securevts {{ enabled = on, key-servers {{ {own.Hocon("kms1")} }} }}");
        var (id, key) = await own.CreateKey();
        Directory.CreateDirectory(Path.Combine(site.Vault, "POOL1"));
        await File.WriteAllBytesAsync(site.Tape("POOL1", "D00001"), KmipServer.EncryptedTape("kms1", id, key, bodyBytes: 300_000));
        await own.Stop();
        await using var node = NodeProcess.Start(site.ConfigFile);
        using var ems = new EmsClient(await node.WaitUntilReady(TimeSpan.FromSeconds(90)));
        Assert.True((await ems.Send(EmsClient.Dismount("d-1", "POOL1", "D00001"))).TryGetProperty("ack", out _));
        await Wait.Until(() => site.EventLogLines().Count(l => l.Contains("|424012|") && l.Contains("D00001")) >= 2, TimeSpan.FromSeconds(60),
            "two attempts refused while the key server is down");
        Assert.Contains(site.EventLogLines(), l => l.Contains("|424012|") && l.Contains("key server unreachable: kms1"));

        await own.Restart();
        var copy = Path.Combine(sshd.VaultRoot, "DRPOOL1", "D00001");
        await Wait.Until(() => File.Exists(copy), TimeSpan.FromSeconds(60), "the copy once the key server is back");
        Assert.Equal(TapeFiles.Sha256(site.Tape("POOL1", "D00001")), TapeFiles.Sha256(copy));
        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|224001|") && l.Contains("D00001")), TimeSpan.FromSeconds(10), "the copy's entry");
    }

    /// <summary>vts-sim's encrypted tapes are real AES-256-GCM under a key it created in the key server: the node checks
    /// the key and copies them, and the copy decrypts with the key the server holds.</summary>
    [Fact]
    public async Task The_simulators_encrypted_tapes_are_copied_and_decrypt_with_the_key_servers_key()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: $"securevts {{ enabled = on, key-servers {{ {Kmip.Hocon("kms1")} }} }}");
        await using var node = NodeProcess.Start(site.ConfigFile);
        var ems = await node.WaitUntilReady(TimeSpan.FromSeconds(90));
        var summaryFile = Path.Combine(site.Dir, "sim.json");
        var (code, output) = await Vts.Integration.Tests.Sim.SimulatorTests.Sim("--vault", site.Vault, "--ems", ems.ToString(), "--pools", "POOL1",
            "--tapes", "4", "--size", "1200K", "--noring-share", "0", "--encrypted-share", "0.5", "--summary", summaryFile,
            "--kmip", $"127.0.0.1:{Kmip.Port}", "--kmip-ca", Kmip.CaFile, "--kmip-cert", Kmip.CertFile("vts-node"), "--kmip-key", Kmip.KeyFile("vts-node"));
        Assert.True(code == 0, output);

        string AtTarget(string volser) => Path.Combine(sshd.VaultRoot, "DRPOOL1", volser);
        await Wait.Until(() => Enumerable.Range(1, 4).All(i => File.Exists(AtTarget($"S{i:D5}"))), TimeSpan.FromSeconds(60), "all four copies");
        var encrypted = Enumerable.Range(1, 4).Select(i => AtTarget($"S{i:D5}"))
            .Select(path => (Path: path, Header: TapeHeader.Parse(File.ReadAllBytes(path).AsSpan(0, TapeHeader.Needed))))
            .Where(t => t.Header is TapeHeader.Encrypted).ToList();
        Assert.Equal(2, encrypted.Count);

        var header = (TapeHeader.Encrypted)encrypted[0].Header;
        await using var kmip = await Vts.Kmip.KmipClient.ConnectAsync(Kmip.Settings("kms1").Endpoint, CancellationToken.None);
        var key = await kmip.GetSymmetricKeyAsync(header.KeyId, CancellationToken.None);
        Assert.Equal(header.Kcv, TapeKeyCheck.CheckValue(key));
        // After the header line: the tape's 8-byte nonce prefix, then records of 1 MiB of ciphertext and a 16-byte tag.
        var bytes = await File.ReadAllBytesAsync(encrypted[0].Path);
        var start = Array.IndexOf(bytes, (byte)'\n') + 1;
        byte[] nonce = [.. bytes.AsSpan(start, 8), 0, 0, 0, 0];
        var plain = new byte[1 << 20];
        using var aes = new System.Security.Cryptography.AesGcm(key, 16);
        aes.Decrypt(nonce, bytes.AsSpan(start + 8, 1 << 20), bytes.AsSpan(start + 8 + (1 << 20), 16), plain); // throws unless genuine
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
