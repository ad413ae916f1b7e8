using Vts.AutoCopy.SecureVts;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.SecureVts;

/// <summary>R11 on whole nodes against the real key server: every cause reaches the event log under its own id, and a
/// node logging at DEBUG still writes the key nowhere.</summary>
[Collection(nameof(SecureVtsTests))]
public sealed class SecureVtsNodeTests(KmipServerFixture fixture)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private KmipServer Kmip => fixture.Server;

    [Fact]
    public async Task Each_cause_reaches_the_event_log_under_its_own_id_and_the_key_is_written_nowhere_even_at_debug()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, extra: $"securevts {{ enabled = on, key-servers {{ {Kmip.Hocon("kms1")} }} }}");
        File.AppendAllText(site.ConfigFile, "\nakka.loglevel = DEBUG\n");
        var (id, key) = await Kmip.CreateKey();
        var tapes = new (string Volser, byte[] Bytes, int? Refused)[]
        {
            ("G00001", KmipServer.EncryptedTape("kms1", id, key, bodyBytes: 1 << 20), null),
            ("G00002", KmipServer.EncryptedTape("kms1", "99999", key), 424013),
            ("G00003", [.. TapeHeader.Write("kms1", id, new byte[16]), 1, 2, 3], 424014),
            ("G00004", "VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"1\",\"kcv\":\"not hex\"}\n"u8.ToArray(), 424015),
            ("G00005", KmipServer.EncryptedTape("kms9", id, key), 424011),
        };
        foreach (var (volser, bytes, _) in tapes) await File.WriteAllBytesAsync(site.Tape("POOL1", volser), bytes);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using (var ems = new EmsClient(await node.WaitUntilReady(StartTimeout)))
            foreach (var (volser, _, _) in tapes)
                Assert.True((await ems.Send(EmsClient.Dismount($"g-{volser}", "POOL1", volser))).TryGetProperty("ack", out _));

        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|224001|") && l.Contains("G00001")), TimeSpan.FromSeconds(60), "the good tape's copy");
        foreach (var (volser, _, refused) in tapes.Where(t => t.Refused is not null))
            await Wait.Until(() => site.EventLogLines().Any(l => l.Contains($"|{refused}|") && l.Contains($"POOL1/{volser}")), TimeSpan.FromSeconds(60),
                () => $"{refused} for {volser}; the event log:\n{string.Join('\n', site.EventLogLines())}");
        Assert.Equal(TapeFiles.Sha256(site.Tape("POOL1", "G00001")), TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, "DRPOOL1", "G00001")));
        Assert.All(tapes.Where(t => t.Refused is not null), t => Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", t.Volser))));
        Assert.Contains("[DEBUG]", node.Output); // the search below covers a debug log

        await node.Kill();
        await SecureVtsTests.KeyWrittenNowhere(key, node.Output, site.State, sshd.VaultRoot);
    }

    [Fact]
    public async Task A_node_with_SecureVTS_off_refuses_an_encrypted_tape_as_disabled_and_copies_a_plain_one()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd);
        var (id, key) = await Kmip.CreateKey();
        await File.WriteAllBytesAsync(site.Tape("POOL1", "H00001"), KmipServer.EncryptedTape("kms1", id, key));
        var plain = TapeFiles.Write(site.Tape("POOL1", "H00002"), 1 << 20);
        await using var node = NodeProcess.Start(site.ConfigFile);
        using (var ems = new EmsClient(await node.WaitUntilReady(StartTimeout)))
        {
            Assert.True((await ems.Send(EmsClient.Dismount("h-1", "POOL1", "H00001"))).TryGetProperty("ack", out _));
            Assert.True((await ems.Send(EmsClient.Dismount("h-2", "POOL1", "H00002"))).TryGetProperty("ack", out _));
        }
        await Wait.Until(() => site.EventLogLines().Any(l => l.Contains("|424010|") && l.Contains("POOL1/H00001")), TimeSpan.FromSeconds(60), "424010");
        Assert.Contains(site.EventLogLines(), l => l.Contains("|424010|") && l.Contains("vts.securevts.enabled"));
        await Wait.Until(() => File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "H00002")), TimeSpan.FromSeconds(60), "the plain tape's copy");
        Assert.Equal(plain, TapeFiles.Sha256(Path.Combine(sshd.VaultRoot, "DRPOOL1", "H00002")));
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "H00001")));
    }
}
