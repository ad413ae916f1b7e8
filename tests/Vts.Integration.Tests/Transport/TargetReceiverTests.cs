using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R9 against targets whose python3 is not the receiver we send: one that lies about what it wrote, one that
/// cannot write, one that breaks and one that says too much. A real OpenSSH server runs them.</summary>
public sealed class TargetReceiverTests : IAsyncLifetime
{
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-src-").FullName;
    private readonly string _tools = Directory.CreateTempSubdirectory("vts-tools-").FullName;
    private readonly long _size = SftpTapeTransport.StreamingThreshold + 123;
    private Sshd _sshd = null!;

    public async Task InitializeAsync() => _sshd = await Sshd.Create();

    public async Task DisposeAsync()
    {
        await _sshd.DisposeAsync();
        Directory.Delete(_vault, true);
        Directory.Delete(_tools, true);
    }

    private string Impostor => Path.Combine(_tools, "python3");

    /// <summary>The target's python3 becomes this shell script; it is called as <c>python3 -c SCRIPT PATH</c>.</summary>
    private void Python3(string script)
    {
        var file = Impostor;
        File.WriteAllText(file, "#!/bin/sh\n" + script + "\n");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private async Task<TransferOutcome> Copy(SftpTapeTransport transport, string volser)
    {
        var source = Path.Combine(_vault, "POOL1", volser);
        if (!File.Exists(source)) TapeFiles.Write(source, _size, seed: 7);
        return await transport.CopyAsync(
            new TransferRequest(source, _sshd.Target(), PoolName.Parse("DRPOOL1"), Volser.Parse(volser)), CancellationToken.None);
    }

    private string AtTarget(string name) => Path.Combine(_sshd.VaultRoot, "DRPOOL1", name);

    [Fact]
    public async Task R9_A_receiver_reporting_another_SHA256_fails_the_attempt_and_leaves_no_tape()
    {
        Python3("""cat > "$3"; echo "sha256 0000000000000000000000000000000000000000000000000000000000000000 $(stat -c %s "$3")" """);
        var failed = Assert.IsType<TransferOutcome.Failed>(await Copy(new SftpTapeTransport(Impostor), "L00001"));

        Assert.Contains("differs from the source", failed.Cause);
        Assert.False(File.Exists(AtTarget("L00001")));
        Assert.False(File.Exists(AtTarget(SftpTapeTransport.TemporaryName("L00001"))));
    }

    [Fact]
    public async Task R9_A_receiver_reporting_fewer_bytes_than_were_sent_fails_the_attempt()
    {
        Python3("""cat > "$3"; set -- $(sha256sum "$3"); echo "sha256 $1 5" """);
        var failed = Assert.IsType<TransferOutcome.Failed>(await Copy(new SftpTapeTransport(Impostor), "L00002"));

        Assert.Contains($"received 5 bytes of the source's {_size}", failed.Cause);
        Assert.False(File.Exists(AtTarget("L00002")));
    }

    [Fact]
    public async Task A_target_that_cannot_write_fails_the_attempt_in_its_own_words_and_is_asked_the_same_way_next_time()
    {
        Python3("""echo "error No space left on device"; exit 3""");
        var transport = new SftpTapeTransport(Impostor);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var failed = Assert.IsType<TransferOutcome.Failed>(await Copy(transport, "L00003"));
            Assert.Contains("No space left on device", failed.Cause);
        }
        Assert.False(File.Exists(AtTarget("L00003")));
    }

    [Theory]
    [InlineData("""echo "Traceback (most recent call last): SyntaxError" >&2; exit 1""")]
    [InlineData("""cat > /dev/null; head -c 1048576 /dev/zero | tr '\0' x""")]
    [InlineData("""cat > /dev/null; printf 'sha256 %s 1\nsha256 %s 1\n' abc abc""")]
    public async Task A_receiver_that_breaks_or_says_too_much_fails_one_attempt_and_the_next_streams_into_cat(string impostor)
    {
        Python3(impostor);
        var transport = new SftpTapeTransport(Impostor);
        Assert.IsType<TransferOutcome.Failed>(await Copy(transport, "L00004"));
        Assert.False(File.Exists(AtTarget("L00004")));

        var copied = Assert.IsType<TransferOutcome.Succeeded>(await Copy(transport, "L00004"));
        Assert.Equal(TargetProof.HashedFile, copied.Proof);
        Assert.Equal(copied.Sha256, TapeFiles.Sha256(AtTarget("L00004")));
    }
}
