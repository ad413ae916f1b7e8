using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R9, R10, R14 against a real OpenSSH server on loopback.</summary>
public sealed class SftpTapeTransportTests : IAsyncLifetime
{
    private Sshd _sshd = null!;
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-src-").FullName;
    private readonly SftpTapeTransport _transport = new();
    private static readonly PoolName DrPool = PoolName.Parse("DRPOOL1");

    public async Task InitializeAsync() => _sshd = await Sshd.Create();

    public async Task DisposeAsync()
    {
        await _sshd.DisposeAsync();
        Directory.Delete(_vault, true);
    }

    private TransferRequest Request(string volser, TargetSettings? target = null, PoolName? targetPool = null) =>
        new(Path.Combine(_vault, "POOL1", volser), target ?? _sshd.Target(), targetPool ?? DrPool, Volser.Parse(volser));

    private string AtTarget(string volser, string pool = "DRPOOL1") => Path.Combine(_sshd.VaultRoot, pool, volser);

    [Fact]
    public async Task R9_The_copy_at_the_target_has_the_source_bytes_and_SHA256()
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "A00001"), 3 * 1024 * 1024 + 17);
        var outcome = Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(Request("A00001"), CancellationToken.None));

        Assert.Equal((3 * 1024 * 1024 + 17L, sha), (outcome.Size, outcome.Sha256));
        Assert.Equal(sha, TapeFiles.Sha256(AtTarget("A00001")));
        Assert.Empty(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), "A00001"));
    }

    [Fact]
    public async Task Transfers_that_start_together_into_a_new_target_pool_all_arrive()
    {
        // Each finds the pool folder missing and makes it; all but one mkdir fail, and none of them may fail its attempt.
        // Sessions opened first (the transport keeps them), so that the transfers really do start together.
        var volsers = Enumerable.Range(1, 6).Select(i => $"N0000{i}").ToList();
        var shas = volsers.ToDictionary(v => v, v => TapeFiles.Write(Path.Combine(_vault, "POOL1", v), 4096, seed: v.GetHashCode()));
        await Task.WhenAll(volsers.Select(v => _transport.CopyAsync(Request(v), CancellationToken.None)));
        foreach (var v in volsers) File.Delete(AtTarget(v));
        for (var round = 1; round <= 5; round++)
        {
            var pool = PoolName.Parse($"NEWPOOL{round}");
            var outcomes = await Task.WhenAll(volsers.Select(v => _transport.CopyAsync(Request(v, targetPool: pool), CancellationToken.None)));
            Assert.All(outcomes, o => Assert.IsType<TransferOutcome.Succeeded>(o));
            foreach (var v in volsers) Assert.Equal(shas[v], TapeFiles.Sha256(AtTarget(v, pool.Value)));
            foreach (var v in volsers) File.Delete(AtTarget(v, pool.Value)); // R14: a volser lives in one pool
        }
    }

    [Fact]
    public async Task R9_A_large_tape_streamed_over_a_command_channel_arrives_with_the_source_bytes()
    {
        var size = SftpTapeTransport.StreamingThreshold + 12_345;
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "A00003"), size, seed: 3);
        var outcome = Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(Request("A00003"), CancellationToken.None));
        Assert.Equal((size, sha), (outcome.Size, outcome.Sha256));
        Assert.Equal(sha, TapeFiles.Sha256(AtTarget("A00003")));
        Assert.Equal(TargetProof.HashedWhileWriting, outcome.Proof);
        Assert.Empty(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), "A00003"));
    }

    [Fact]
    public async Task R9_Without_the_hashing_receiver_a_large_tape_streams_into_cat_and_the_target_hashes_the_file()
    {
        var size = SftpTapeTransport.StreamingThreshold + 4_097;
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "A00004"), size, seed: 4);
        var outcome = Assert.IsType<TransferOutcome.Succeeded>(
            await new SftpTapeTransport(python: null).CopyAsync(Request("A00004"), CancellationToken.None));
        Assert.Equal((size, sha, TargetProof.HashedFile), (outcome.Size, outcome.Sha256, outcome.Proof));
        Assert.Equal(sha, TapeFiles.Sha256(AtTarget("A00004")));
        Assert.True(outcome.Verification > TimeSpan.Zero);
    }

    [Fact]
    public async Task R9_A_newer_copy_replaces_the_older_one_under_the_final_name()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "A00002"), 100_000, seed: 1);
        Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(Request("A00002"), CancellationToken.None));
        var newer = TapeFiles.Write(Path.Combine(_vault, "POOL1", "A00002"), 50_000, seed: 2);
        Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(Request("A00002"), CancellationToken.None));
        Assert.Equal(newer, TapeFiles.Sha256(AtTarget("A00002")));
    }

    [Fact]
    public async Task R10_A_changed_host_key_is_refused_and_nothing_is_transferred()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "B00001"), 10_000);
        var wrongPin = new HostKeyPin("SHA256:" + new string('A', 43), null);
        var outcome = Assert.IsType<TransferOutcome.Failed>(
            await _transport.CopyAsync(Request("B00001", _sshd.Target(pin: wrongPin)), CancellationToken.None));
        Assert.Equal(FailureKind.TargetNotTrusted, outcome.Kind);
        Assert.Contains("changed", outcome.Cause);
        Assert.False(Directory.Exists(Path.Combine(_sshd.VaultRoot, "DRPOOL1")) && File.Exists(AtTarget("B00001")));
    }

    [Fact]
    public async Task R10_A_host_missing_from_known_hosts_is_refused_and_a_listed_one_is_trusted()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "B00002"), 10_000);
        var knownHosts = Path.Combine(_sshd.Dir, "known_hosts");
        var hostKeyLine = File.ReadAllText(_sshd.HostKey + ".pub").Trim();
        await File.WriteAllTextAsync(knownHosts, $"[127.0.0.1]:{_sshd.Port + 1} {hostKeyLine}\n");
        var unknown = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(
            Request("B00002", _sshd.Target(pin: new HostKeyPin(null, knownHosts))), CancellationToken.None));
        Assert.Equal(FailureKind.TargetNotTrusted, unknown.Kind);
        Assert.Contains("unknown", unknown.Cause);

        await File.WriteAllTextAsync(knownHosts, $"# pinned for the test\n[127.0.0.1]:{_sshd.Port} {hostKeyLine}\n");
        Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(
            Request("B00002", _sshd.Target(pin: new HostKeyPin(null, knownHosts))), CancellationToken.None));
    }

    [Fact]
    public async Task R10_A_host_key_marked_revoked_is_refused_even_when_also_listed_and_a_cert_authority_alone_pins_nothing()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "B00003"), 10_000);
        var knownHosts = Path.Combine(_sshd.Dir, "known_hosts_revoked");
        var hostKeyLine = File.ReadAllText(_sshd.HostKey + ".pub").Trim();
        var target = _sshd.Target(pin: new HostKeyPin(null, knownHosts));
        await File.WriteAllTextAsync(knownHosts, $"[127.0.0.1]:{_sshd.Port} {hostKeyLine}\n@revoked * {hostKeyLine}\n");
        var revoked = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("B00003", target), CancellationToken.None));
        Assert.Equal(FailureKind.TargetNotTrusted, revoked.Kind);
        Assert.Contains("is marked @revoked in", revoked.Cause);

        await File.WriteAllTextAsync(knownHosts, $"@cert-authority * {hostKeyLine}\n");
        var authority = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("B00003", target), CancellationToken.None));
        Assert.Contains("host certificates are not supported", authority.Cause);
        Assert.False(File.Exists(AtTarget("B00003")));
    }

    [Theory]
    [InlineData(10_000L)]                                       // looked at over SFTP
    [InlineData(SftpTapeTransport.StreamingThreshold + 4321)]   // looked at by the receiver
    public async Task R14_A_volser_held_in_another_pool_at_the_target_is_refused_naming_both_pools(long size)
    {
        var volser = size > 10_000 ? "C00002" : "C00001";
        TapeFiles.Write(Path.Combine(_vault, "POOL1", volser), size);
        Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "ELSEWHERE"));
        await File.WriteAllTextAsync(AtTarget(volser, "ELSEWHERE"), "other tape");

        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request(volser), CancellationToken.None));
        Assert.Contains("pool ELSEWHERE", outcome.Cause);
        Assert.Contains("DRPOOL1", outcome.Cause);
        Assert.False(File.Exists(AtTarget(volser)));
        Assert.Empty(TapeFiles.Temporary(AtTarget(""), volser));
    }

    /// <summary>A file outside the target's vault that a planted link points to; it must come out of every attempt
    /// unchanged.</summary>
    private string Victim()
    {
        var victim = Path.Combine(_sshd.Dir, $"victim-{Guid.NewGuid():N}");
        File.WriteAllText(victim, "precious, not a tape");
        return victim;
    }

    [Theory]
    [InlineData(10_000L)]                                       // SFTP upload
    [InlineData(SftpTapeTransport.StreamingThreshold + 4321)]   // streamed to the receiver
    public async Task R15_A_final_name_that_is_a_link_is_never_replaced_and_what_it_points_to_is_untouched(long size)
    {
        var volser = size > 10_000 ? "K00002" : "K00001";
        TapeFiles.Write(Path.Combine(_vault, "POOL1", volser), size, seed: 5);
        Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "DRPOOL1"));
        var victim = Victim();
        File.CreateSymbolicLink(AtTarget(volser), victim);

        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request(volser), CancellationToken.None));

        Assert.Equal(FailureKind.NotARegularFile, outcome.Kind);
        Assert.Contains($"the final name {_sshd.VaultRoot}/DRPOOL1/{volser} on dr is a symbolic link", outcome.Cause);
        Assert.Contains("; not replaced (R15)", outcome.Cause);
        Assert.Equal("precious, not a tape", File.ReadAllText(victim));
        Assert.Equal(victim, new FileInfo(AtTarget(volser)).LinkTarget); // the link itself is left for the operator
        Assert.Empty(Directory.GetFiles(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), ".*.autocopy.tmp"));
    }

    [Fact]
    public async Task R15_A_final_name_that_is_a_dangling_link_or_a_folder_is_never_replaced()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "K00003"), 1000);
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "K00004"), 1000);
        Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "DRPOOL1"));
        var nowhere = Path.Combine(_sshd.Dir, "not-yet-there");
        File.CreateSymbolicLink(AtTarget("K00003"), nowhere);
        Directory.CreateDirectory(AtTarget("K00004"));

        var dangling = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("K00003"), CancellationToken.None));
        var folder = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("K00004"), CancellationToken.None));

        Assert.Equal((FailureKind.NotARegularFile, FailureKind.NotARegularFile), (dangling.Kind, folder.Kind));
        Assert.Contains("is a symbolic link; not replaced", dangling.Cause);
        Assert.Contains("is a folder; not replaced", folder.Cause);
        Assert.False(File.Exists(nowhere), "a file was created where the dangling link points");
        Assert.Empty(Directory.GetFileSystemEntries(AtTarget("K00004")));
    }

    [Fact]
    public async Task R15_On_a_target_without_our_receiver_links_at_the_final_name_are_seen_over_SFTP_alone()
    {
        var sftpOnly = new SftpTapeTransport();
        var target = _sshd.Target() with { SftpOnly = true };
        foreach (var volser in new[] { "K00011", "K00012" }) TapeFiles.Write(Path.Combine(_vault, "POOL1", volser), 1000);
        Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "DRPOOL1"));
        var victim = Victim();
        var nowhere = Path.Combine(_sshd.Dir, "not-there-either");
        File.CreateSymbolicLink(AtTarget("K00011"), victim);
        File.CreateSymbolicLink(AtTarget("K00012"), nowhere);

        var toVictim = Assert.IsType<TransferOutcome.Failed>(await sftpOnly.CopyAsync(Request("K00011", target), CancellationToken.None));
        var toNowhere = Assert.IsType<TransferOutcome.Failed>(await sftpOnly.CopyAsync(Request("K00012", target), CancellationToken.None));

        Assert.Contains($"is a symbolic link to {victim}; not replaced (R15)", toVictim.Cause);
        Assert.Contains("is a symbolic link; not replaced (R15)", toNowhere.Cause);
        Assert.Equal((FailureKind.NotARegularFile, FailureKind.NotARegularFile), (toVictim.Kind, toNowhere.Kind));
        Assert.Equal("precious, not a tape", File.ReadAllText(victim));
        Assert.False(File.Exists(nowhere), "a file was created where the dangling link points");
    }

    [Fact]
    public async Task R15_On_a_target_without_our_receiver_a_temporary_file_swapped_for_a_link_is_neither_renamed_nor_removed_through()
    {
        const string volser = "K00013";
        var target = _sshd.Target() with { SftpOnly = true };
        TapeFiles.Write(Path.Combine(_vault, "POOL1", volser), 48L << 20, seed: 13); // read back over SFTP for a while
        var pool = Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "DRPOOL1")).FullName;
        var victim = Victim();
        using var reads = new FileEvents(pool, FileEvents.Read);
        // The first read of the temporary file is the read-back that proves it: its handle is open by then, so the proof
        // still reads the bytes sent, while the name holds a link to the victim before the rename comes.
        var swapping = Task.Factory.StartNew(() =>
        {
            var read = reads.WaitFor(e => e.Name.StartsWith($".{volser}.", StringComparison.Ordinal), TimeSpan.FromSeconds(120))
                       ?? throw new TimeoutException("the temporary file was never read back");
            var link = Path.Combine(pool, "planted-link");
            File.CreateSymbolicLink(link, victim);
            if (Mono.Unix.Native.Syscall.rename(link, Path.Combine(pool, read.Name)) != 0) throw new IOException("rename failed");
            return read.Name;
        }, TaskCreationOptions.LongRunning);

        var outcome = Assert.IsType<TransferOutcome.Failed>(await new SftpTapeTransport().CopyAsync(Request(volser, target), CancellationToken.None));
        var temporary = await swapping;

        Assert.Equal(FailureKind.NotARegularFile, outcome.Kind);
        Assert.Contains($"the temporary file {_sshd.VaultRoot}/DRPOOL1/{temporary} on dr is a symbolic link now; not renamed (R15)", outcome.Cause);
        Assert.Equal("precious, not a tape", File.ReadAllText(victim)); // neither moved under the final name nor removed
        Assert.False(Path.Exists(AtTarget(volser)));
        Assert.Equal(victim, new FileInfo(Path.Combine(pool, temporary)).LinkTarget); // the link is left for the operator
    }

    [Theory]
    [InlineData(1000L)]                                         // looked at over SFTP
    [InlineData(SftpTapeTransport.StreamingThreshold + 4321)]   // looked at by the receiver
    public async Task R15_A_target_pool_folder_that_is_a_link_is_not_written_through(long size)
    {
        var volser = size > 1000 ? "K00006" : "K00005";
        TapeFiles.Write(Path.Combine(_vault, "POOL1", volser), size);
        var elsewhere = Directory.CreateDirectory(Path.Combine(_sshd.Dir, $"elsewhere-{size}")).FullName;
        File.CreateSymbolicLink(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), elsewhere);

        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request(volser), CancellationToken.None));

        Assert.Equal(FailureKind.NotARegularFile, outcome.Kind);
        Assert.Contains($"target pool folder {_sshd.VaultRoot}/DRPOOL1 on dr is a symbolic link; nothing written through it (R15)", outcome.Cause);
        Assert.Empty(Directory.GetFileSystemEntries(elsewhere));
    }

    [Fact]
    public async Task R15_A_source_tape_that_is_a_FIFO_fails_its_attempt_at_once_as_a_security_matter()
    {
        Directory.CreateDirectory(Path.Combine(_vault, "POOL1"));
        Assert.Equal(0, Mono.Unix.Native.Syscall.mkfifo(Path.Combine(_vault, "POOL1", "F00009"), Mono.Unix.Native.FilePermissions.DEFFILEMODE));
        var outcome = Assert.IsType<TransferOutcome.Failed>(
            await _transport.CopyAsync(Request("F00009"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(FailureKind.NotARegularFile, outcome.Kind);
        Assert.Contains("is a FIFO, not a regular file", outcome.Cause);
        Assert.False(File.Exists(AtTarget("F00009")));
    }

    [Fact]
    public async Task A_missing_source_tape_fails_the_attempt_with_its_path()
    {
        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("D00001"), CancellationToken.None));
        Assert.Contains("not found", outcome.Cause);
    }

    [Fact]
    public async Task A_target_that_is_down_fails_the_attempt()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "D00002"), 1000);
        await _sshd.Stop();
        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("D00002"), CancellationToken.None));
        Assert.Contains("cannot connect", outcome.Cause);
        Assert.Equal(FailureKind.Transfer, outcome.Kind);
    }

    [Fact]
    public async Task R5_A_cancelled_transfer_leaves_nothing_under_the_final_name()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "E00001"), 256L * 1024 * 1024);
        using var cancel = new CancellationTokenSource();
        var copying = _transport.CopyAsync(Request("E00001"), cancel.Token);
        await WaitForTemporaryFile("E00001");
        await cancel.CancelAsync();

        Assert.IsType<TransferOutcome.Cancelled>(await copying);
        Assert.False(File.Exists(AtTarget("E00001")));
    }

    [Fact]
    public async Task R9_A_cut_connection_leaves_no_partial_tape_under_the_final_name()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "E00002"), 256L * 1024 * 1024);
        var copying = _transport.CopyAsync(Request("E00002"), CancellationToken.None);
        await WaitForTemporaryFile("E00002");
        await _sshd.CutConnections();

        var outcome = Assert.IsType<TransferOutcome.Failed>(await copying);
        Assert.False(File.Exists(AtTarget("E00002")), outcome.Cause);
    }

    /// <summary>A target whose key runs nothing but SFTP (R10): its copies are proven by reading them back.</summary>
    private TargetSettings SftpOnly => _sshd.Target() with { SftpOnly = true };

    [Fact]
    public async Task R9_On_an_sftp_only_target_a_large_tape_is_proven_by_reading_each_block_back()
    {
        const long size = SftpTapeTransport.StreamingThreshold + 4321; // no whole number of blocks
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "G00001"), size, seed: 7);

        var outcome = Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(Request("G00001", SftpOnly), CancellationToken.None));

        Assert.Equal((size, sha, TargetProof.ReadBack), (outcome.Size, outcome.Sha256, outcome.Proof));
        Assert.Equal(sha, TapeFiles.Sha256(AtTarget("G00001")));
        Assert.Equal(1, outcome.Streams); // loopback: one connection, more would only share the CPU
        Assert.Empty(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), "G00001"));
    }

    /// <summary>A target whose SFTP server lets a session open only about 24 files, fewer than the 32 read handles and the
    /// upload's own that a large tape asks for: the copy is read back through those it got.</summary>
    [Fact]
    public async Task R9_On_an_sftp_only_target_that_opens_few_files_a_large_tape_is_read_back_through_the_handles_it_got()
    {
        const long size = SftpTapeTransport.StreamingThreshold + 4321;
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "G00006"), size, seed: 8);
        await _sshd.LimitSftpOpenFiles(24);

        var outcome = Assert.IsType<TransferOutcome.Succeeded>(await _transport.CopyAsync(Request("G00006", SftpOnly), CancellationToken.None));

        Assert.Equal((size, sha, TargetProof.ReadBack), (outcome.Size, outcome.Sha256, outcome.Proof));
        Assert.Equal(sha, TapeFiles.Sha256(AtTarget("G00006")));
    }

    /// <summary>One that opens two files or so beside the upload's cannot read back (a read handle must never be sent two
    /// neighbouring pairs): the attempt fails saying how many it could open, not just SFTP's "Failure".</summary>
    [Fact]
    public async Task On_an_sftp_only_target_that_opens_too_few_files_for_a_copy_the_attempt_fails_saying_so()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "G00007"), SftpTapeTransport.StreamingThreshold, seed: 9);
        await _sshd.LimitSftpOpenFiles(5); // stdin, stdout, stderr and two

        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request("G00007", SftpOnly), CancellationToken.None));

        Assert.Matches(@"the target let this copy open \d of the 32 SFTP handles it asked for .* it needs 2 to read back", outcome.Cause);
        Assert.False(File.Exists(AtTarget("G00007")));
    }

    [Theory]
    [InlineData(48L << 20)]                                   // uploaded whole, then read back
    [InlineData(SftpTapeTransport.StreamingThreshold + 4321)] // block by block, each read back as soon as it is written
    public async Task R9_On_an_sftp_only_target_bytes_kept_otherwise_than_acknowledged_fail_the_attempt_and_leave_no_file(long size)
    {
        var volser = size < SftpTapeTransport.StreamingThreshold ? "G00002" : "G00003";
        await _sshd.CorruptWriteAt((40L << 20) + 12345);
        TapeFiles.Write(Path.Combine(_vault, "POOL1", volser), size, seed: 2);

        var outcome = Assert.IsType<TransferOutcome.Failed>(await _transport.CopyAsync(Request(volser, SftpOnly), CancellationToken.None));

        Assert.Contains("differs from the source", outcome.Cause);
        Assert.False(Path.Exists(AtTarget(volser)));
        Assert.Empty(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), volser));
    }

    [Fact]
    public async Task R9_On_an_sftp_only_target_a_source_changed_during_the_transfer_voids_the_attempt()
    {
        var source = Path.Combine(_vault, "POOL1", "G00004");
        TapeFiles.Write(source, 96L << 20, seed: 4);
        // Paced to 16 MiB/s: the change comes while the bytes flow.
        var copying = _transport.CopyAsync(Request("G00004", SftpOnly) with { Meter = new TransferMeter(16L << 20) }, CancellationToken.None);
        await WaitForTemporaryFile("G00004");
        await using (var tape = new FileStream(source, FileMode.Open, FileAccess.Write))
        {
            tape.Seek(-1, SeekOrigin.End);
            tape.WriteByte(0x5a);
        }

        var outcome = Assert.IsType<TransferOutcome.Failed>(await copying);
        Assert.Contains("source tape changed during the transfer", outcome.Cause);
        Assert.False(Path.Exists(AtTarget("G00004")));
        Assert.Empty(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), "G00004"));
    }

    [Fact]
    public async Task R5_R17_On_an_sftp_only_target_a_cancelled_transfer_leaves_no_final_name_and_keeps_its_temporary_file()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "G00005"), 96L << 20, seed: 5);
        using var cancel = new CancellationTokenSource();
        var copying = _transport.CopyAsync(Request("G00005", SftpOnly) with { Meter = new TransferMeter(16L << 20) }, cancel.Token);
        await WaitForTemporaryFile("G00005");
        await cancel.CancelAsync();

        Assert.IsType<TransferOutcome.Cancelled>(await copying);
        Assert.False(Path.Exists(AtTarget("G00005")));
        // Kept for the next attempt to take over (R17: ResumeAfterCutTests).
        Assert.Single(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), "G00005"));
    }

    private Task WaitForTemporaryFile(string volser) =>
        TapeFiles.WaitUntilWriting(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), volser);
}
