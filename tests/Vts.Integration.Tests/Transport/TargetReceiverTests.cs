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
        if (!OperatingSystem.IsWindows()) // the recipient is a POSIX system; keeps the analyzer content
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private async Task<TransferOutcome> Copy(SftpTapeTransport transport, string volser, TimeSpan? operationTimeout = null,
        CancellationToken cancellation = default)
    {
        var source = Path.Combine(_vault, "POOL1", volser);
        if (!File.Exists(source)) TapeFiles.Write(source, _size, seed: 7);
        var target = _sshd.Target() with { OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(30) };
        return await transport.CopyAsync(new TransferRequest(source, target, PoolName.Parse("DRPOOL1"), Volser.Parse(volser)), cancellation);
    }

    private string AtTarget(string name) => Path.Combine(_sshd.VaultRoot, "DRPOOL1", name);

    // What an impostor is sent: "ready 3" expected first, then for each copy "begin" and four lines (answered by
    // Begins, as our receiver would), then per tape a line "SIZE new PATH" and SIZE bytes.
    private const string Ready = "echo 'ready 3'; ";
    private const string Begins = """if [ "$n" = begin ]; then read root; read pool; read volser; read temp; mkdir -p "$root/$pool" && : > "$root/$pool/$temp"; echo "begun 0 -"; continue; fi; """;
    private const string EachRequest = "while read n at p; do " + Begins;

    [Fact]
    public async Task R9_A_receiver_reporting_another_SHA256_fails_the_attempt_and_leaves_no_tape()
    {
        Python3(Ready + EachRequest + """head -c "$n" > "$p"; echo "sha256 0000000000000000000000000000000000000000000000000000000000000000 $n"; done""");
        var failed = Assert.IsType<TransferOutcome.Failed>(await Copy(new SftpTapeTransport(Impostor), "L00001"));

        Assert.Contains("differs from the source", failed.Cause);
        Assert.False(File.Exists(AtTarget("L00001")));
        Assert.Empty(TapeFiles.Temporary(AtTarget(""), "L00001"));
    }

    [Fact]
    public async Task R9_A_receiver_reporting_fewer_bytes_than_were_sent_fails_the_attempt()
    {
        Python3(Ready + EachRequest + """head -c "$n" > "$p"; set -- $(sha256sum "$p"); echo "sha256 $1 5"; done""");
        var failed = Assert.IsType<TransferOutcome.Failed>(await Copy(new SftpTapeTransport(Impostor), "L00002"));

        Assert.Contains($"received 5 bytes of the source's {_size}", failed.Cause);
        Assert.False(File.Exists(AtTarget("L00002")));
        Assert.Empty(TapeFiles.Temporary(AtTarget(""), "L00002"));
    }

    [Fact]
    public async Task A_target_that_cannot_write_fails_the_attempt_in_its_own_words_and_is_asked_the_same_way_next_time()
    {
        Python3(Ready + EachRequest + """head -c "$n" > /dev/null; echo "error No space left on device"; done""");
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
    [InlineData("""echo 'ready 1'; cat > /dev/null""")] // another version of the receiver
    public async Task A_target_whose_python3_will_not_run_the_receiver_gets_the_tape_through_cat(string impostor)
    {
        Python3(impostor);
        var copied = Assert.IsType<TransferOutcome.Succeeded>(await Copy(new SftpTapeTransport(Impostor), "L00005"));

        Assert.Equal(TargetProof.HashedFile, copied.Proof);
        Assert.Equal(copied.Sha256, TapeFiles.Sha256(AtTarget("L00005")));
    }

    [Theory]
    [InlineData(Ready + EachRequest + """head -c 1000 > /dev/null; exit 1; done""")]                                   // dies mid-tape
    [InlineData(Ready + EachRequest + """echo "sha256 0000000000000000000000000000000000000000000000000000000000000000 $n"; sleep 60; done""")] // answers early
    [InlineData(Ready + EachRequest + """head -c "$n" > /dev/null; head -c 1048576 /dev/zero | tr '\0' x; echo; done""")]
    [InlineData(Ready + EachRequest + """head -c "$n" > /dev/null; echo "sha256 abc 1"; done""")]
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

    [Fact]
    public async Task A_python3_that_never_says_ready_is_given_up_after_the_operation_timeout_and_cat_takes_the_tape()
    {
        Python3("exec sleep 600");
        var copied = Assert.IsType<TransferOutcome.Succeeded>(
            await Copy(new SftpTapeTransport(Impostor), "L00009", operationTimeout: TimeSpan.FromSeconds(2)));

        Assert.Equal(TargetProof.HashedFile, copied.Proof);
        Assert.Equal(copied.Sha256, TapeFiles.Sha256(AtTarget("L00009")));
    }

    [Fact]
    public async Task A_receiver_that_takes_the_tape_and_never_answers_fails_the_attempt_after_the_operation_timeout()
    {
        Python3(Ready + EachRequest + """head -c "$n" > /dev/null; exec sleep 600; done""");
        var transport = new SftpTapeTransport(Impostor);
        var failed = Assert.IsType<TransferOutcome.Failed>(await Copy(transport, "L00010", operationTimeout: TimeSpan.FromSeconds(2)));

        Assert.Contains("did not answer within 2 s", failed.Cause);
        Assert.False(File.Exists(AtTarget("L00010")));
        Assert.Equal(TargetProof.HashedFile, Assert.IsType<TransferOutcome.Succeeded>(await Copy(transport, "L00010")).Proof);
    }

    [Fact]
    public async Task R9_A_source_cut_short_mid_stream_fails_the_attempt_and_the_receiver_still_takes_the_next()
    {
        var source = Path.Combine(_vault, "POOL1", "L00011");
        TapeFiles.Write(source, 256L << 20, seed: 11);
        var transport = new SftpTapeTransport();
        var copying = Copy(transport, "L00011");
        await TapeFiles.WaitUntilWriting(AtTarget(""), "L00011");
        await using (var file = new FileStream(source, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) file.SetLength(1 << 20);

        Assert.IsType<TransferOutcome.Failed>(await copying);
        Assert.False(File.Exists(AtTarget("L00011")));

        var sha = TapeFiles.Write(source, _size, seed: 12);
        var copied = Assert.IsType<TransferOutcome.Succeeded>(await Copy(transport, "L00011"));
        Assert.Equal((sha, TargetProof.HashedWhileWriting), (copied.Sha256, copied.Proof));
        Assert.Equal(sha, TapeFiles.Sha256(AtTarget("L00011")));
    }

    [Fact]
    public async Task One_receiver_takes_every_large_tape_of_a_session()
    {
        var starts = Path.Combine(_tools, "starts");
        Python3($"""echo started >> '{starts}'; exec /usr/bin/env python3 "$@" """);
        var transport = new SftpTapeTransport(Impostor);
        foreach (var volser in new[] { "L00006", "L00007", "L00008" })
        {
            var copied = Assert.IsType<TransferOutcome.Succeeded>(await Copy(transport, volser));
            Assert.Equal(TargetProof.HashedWhileWriting, copied.Proof);
            Assert.Equal(copied.Sha256, TapeFiles.Sha256(AtTarget(volser)));
        }
        Assert.Single(File.ReadAllLines(starts));
    }
}
