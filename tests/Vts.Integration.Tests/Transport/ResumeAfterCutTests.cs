using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R17 on a target that runs our receiver (real sshd on loopback): an attempt cut short by a cancellation (a
/// mount, a hand-over) or a lost connection leaves its temporary file, the next attempt sends only what the target does
/// not hold, and a copy that succeeds leaves none of the volser's temporary files behind (issue #11).</summary>
public sealed class ResumeAfterCutTests : IAsyncLifetime
{
    private const long Chunk = 32L << 20; // Stripes.ChunkLength
    private const long Unit = 4L << 20; // Stripes.ResumeUnit
    private const long Length = 160L << 20;
    private Sshd _sshd = null!;
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-src-").FullName;
    private readonly SftpTapeTransport _transport = new();

    public async Task InitializeAsync() => _sshd = await Sshd.Create();

    public async Task DisposeAsync()
    {
        await _sshd.DisposeAsync();
        Directory.Delete(_vault, true);
    }

    private string Pool => Path.Combine(_sshd.VaultRoot, "DRPOOL1");

    private TransferRequest Request(string volser, TransferMeter meter, bool sftpOnly = false) =>
        new(Path.Combine(_vault, "POOL1", volser), _sshd.Target() with { SftpOnly = sftpOnly }, PoolName.Parse("DRPOOL1"), Volser.Parse(volser), meter);

    /// <summary>The largest temporary file of the volser at the target: how far its attempts got.</summary>
    private long Written(string volser) => TapeFiles.Temporary(Pool, volser).Select(f => new FileInfo(f).Length).DefaultIfEmpty(0).Max();

    /// <summary>An attempt paced to 40 MiB/s (a bandwidth share), so that it is cut mid-tape: once the target holds
    /// <paramref name="bytes"/> of it, <paramref name="cut"/> runs.</summary>
    private async Task<TransferOutcome> CutOnceWritten(string volser, long bytes, Func<Task> cut, CancellationToken cancellation = default,
        bool sftpOnly = false)
    {
        var copying = _transport.CopyAsync(Request(volser, new TransferMeter(share: 40L << 20), sftpOnly), cancellation);
        await Wait.Until(() => Written(volser) >= bytes || copying.IsCompleted, TimeSpan.FromSeconds(60), $"{bytes} B of {volser} at the target");
        Assert.False(copying.IsCompleted, $"the copy ended before the cut: {(copying.IsCompleted ? copying.Result : null)}");
        await cut();
        return await copying.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task R17_A_cancelled_attempt_keeps_its_partial_and_the_next_sends_only_what_the_target_lacks()
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00001"), Length, seed: 21);
        using var mount = new CancellationTokenSource();

        Assert.IsType<TransferOutcome.Cancelled>(await CutOnceWritten("J00001", 100L << 20, () => mount.CancelAsync(), mount.Token));

        var partial = Assert.Single(TapeFiles.Temporary(Pool, "J00001"));
        // One connection on loopback writes in order: every whole unit below this size is the source's. The cancelled
        // attempt's receiver may still be writing the tail it had buffered while the next attempt looks.
        var held = new FileInfo(partial).Length;
        Assert.True(held >= 3 * Chunk, $"the partial holds {held} B");
        var meter = new TransferMeter();
        var outcome = Succeeded(await _transport.CopyAsync(Request("J00001", meter), CancellationToken.None));
        Assert.Equal(sha, outcome.Sha256);
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00001")));
        Assert.True(outcome.Resumed >= held / Unit * Unit, $"resumed {outcome.Resumed} B of {held} B held");
        Assert.Equal(Length - outcome.Resumed, meter.Reading.Sent); // only the chunks the target lacked were sent
        Assert.Empty(TapeFiles.Temporary(Pool, "J00001"));
    }

    [Fact]
    public async Task R17_Two_cuts_then_a_copy_leave_no_temporary_file_of_the_volser_behind()
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00002"), Length, seed: 22);
        using var mount = new CancellationTokenSource();
        Assert.IsType<TransferOutcome.Cancelled>(await CutOnceWritten("J00002", 64L << 20, () => mount.CancelAsync(), mount.Token));
        var first = Assert.Single(TapeFiles.Temporary(Pool, "J00002"));

        var lost = Assert.IsType<TransferOutcome.Failed>(await CutOnceWritten("J00002", 128L << 20, () => _sshd.Stop())); // the target goes down
        await _sshd.Start();
        Assert.Equal(FailureKind.Transfer, lost.Kind);
        Assert.Equal(2, TapeFiles.Temporary(Pool, "J00002").Length);
        // The first cut as if long ago: no attempt is writing it any more, and the next resume takes the larger second one.
        File.SetLastWriteTimeUtc(first, DateTime.UtcNow.AddHours(-1));

        var outcome = Succeeded(await _transport.CopyAsync(Request("J00002", new TransferMeter()), CancellationToken.None));

        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00002")));
        Assert.True(outcome.Resumed >= 3 * Chunk, $"resumed {outcome.Resumed} B of {Length}");
        Assert.Empty(TapeFiles.Temporary(Pool, "J00002"));
    }

    [Fact]
    public async Task R17_Chunks_that_several_connections_had_part_written_are_taken_as_far_as_each_got()
    {
        // What a cut leaves of a copy over four connections far away: each chunk written from its start, none whole.
        var source = Path.Combine(_vault, "POOL1", "J00003");
        var sha = TapeFiles.Write(source, Length, seed: 23);
        Directory.CreateDirectory(Pool);
        var partial = Path.Combine(Pool, SftpTapeTransport.TemporaryName("J00003", "00000000000000aa"));
        var bytes = File.ReadAllBytes(source);
        var written = new[] { (0L, 20L << 20), (Chunk, 25L << 20), (2 * Chunk, (9L << 20) + 12_345) };
        using (var file = File.OpenWrite(partial))
            foreach (var (offset, length) in written)
            {
                file.Seek(offset, SeekOrigin.Begin);
                file.Write(bytes, (int)offset, (int)length);
            }
        var meter = new TransferMeter();

        var outcome = Succeeded(await _transport.CopyAsync(Request("J00003", meter), CancellationToken.None));

        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00003")));
        // Whole units only: 5 of the first chunk, 6 of the second, 2 of the third (its third unit is part-written).
        Assert.Equal((5 + 6 + 2) * Unit, outcome.Resumed);
        Assert.Equal(Length - outcome.Resumed, meter.Reading.Sent);
        Assert.Empty(TapeFiles.Temporary(Pool, "J00003"));
    }

    /// <summary>One SSH.NET write request's block over SFTP alone (ReadBack.Block.MaxLength).</summary>
    private const long Block = 32 * 1024 - 512;

    /// <summary>An sftp-only attempt at <paramref name="volser"/> cancelled once the target holds 64 MiB of it, and its
    /// file left as a cut long ago leaves it: no process holds it open, untouched for an hour. Its size.</summary>
    private async Task<long> SftpOnlyPartialLongAgo(string volser)
    {
        using var mount = new CancellationTokenSource();
        Assert.IsType<TransferOutcome.Cancelled>(await CutOnceWritten(volser, 64L << 20, () => mount.CancelAsync(), mount.Token, sftpOnly: true));
        var partial = Assert.Single(TapeFiles.Temporary(Pool, volser));
        await Wait.Until(() => !TapeFiles.HeldOpen(partial), TimeSpan.FromSeconds(30), "the cut attempt's sftp-server gone");
        File.SetLastWriteTimeUtc(partial, DateTime.UtcNow.AddHours(-1));
        return new FileInfo(partial).Length;
    }

    [Fact]
    public async Task R17_On_an_sftp_only_target_a_cut_attempts_file_is_taken_over_and_only_the_blocks_it_lacks_are_sent()
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00011"), Length, seed: 31);
        var held = await SftpOnlyPartialLongAgo("J00011");
        var meter = new TransferMeter();

        var outcome = Succeeded(await _transport.CopyAsync(Request("J00011", meter, sftpOnly: true), CancellationToken.None));

        Assert.Equal((sha, TargetProof.ReadBack), (outcome.Sha256, outcome.Proof));
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00011")));
        Assert.Equal(held / Block * Block, outcome.Resumed); // every whole block it held, read back and compared
        Assert.Equal(Length - outcome.Resumed, meter.Reading.Sent);
        Assert.Empty(TapeFiles.Temporary(Pool, "J00011"));
    }

    [Fact]
    public async Task R17_On_an_sftp_only_target_a_source_changed_since_the_cut_is_sent_whole_again()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00012"), Length, seed: 32);
        await SftpOnlyPartialLongAgo("J00012");
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00012"), Length, seed: 33);
        var meter = new TransferMeter();

        var outcome = Succeeded(await _transport.CopyAsync(Request("J00012", meter, sftpOnly: true), CancellationToken.None));

        Assert.Equal(0, outcome.Resumed);
        Assert.Equal(Length, meter.Reading.Sent);
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00012")));
        Assert.Empty(TapeFiles.Temporary(Pool, "J00012"));
    }

    [Fact]
    public async Task R17_On_an_sftp_only_target_a_file_an_attempt_may_still_be_writing_is_neither_taken_over_nor_removed()
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00013"), Length, seed: 34);
        await SftpOnlyPartialLongAgo("J00013");
        var recent = Assert.Single(TapeFiles.Temporary(Pool, "J00013"));
        File.SetLastWriteTimeUtc(recent, DateTime.UtcNow); // touched just now, as by a writer at work

        var outcome = Succeeded(await _transport.CopyAsync(Request("J00013", new TransferMeter(), sftpOnly: true), CancellationToken.None));

        Assert.Equal(0, outcome.Resumed);
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00013")));
        Assert.Equal([recent], TapeFiles.Temporary(Pool, "J00013"));
    }

    /// <summary>A target whose SFTP server lets a session open only about 24 files, where a resumed copy asks for 48 write
    /// and 32 read handles: it goes on with what it got, of each kind, and still sends only what the target lacks.
    /// (It failed on the first refused open before, every attempt.)</summary>
    [Fact]
    public async Task R17_On_an_sftp_only_target_that_opens_few_files_a_resume_goes_on_with_the_handles_it_got()
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "J00014"), Length, seed: 35);
        var held = await SftpOnlyPartialLongAgo("J00014");
        await _sshd.LimitSftpOpenFiles(24);
        var meter = new TransferMeter();

        var outcome = Succeeded(await _transport.CopyAsync(Request("J00014", meter, sftpOnly: true), CancellationToken.None));

        Assert.Equal((sha, TargetProof.ReadBack), (outcome.Sha256, outcome.Proof));
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "J00014")));
        Assert.Equal(held / Block * Block, outcome.Resumed);
        Assert.Equal(Length - outcome.Resumed, meter.Reading.Sent);
    }

    private static TransferOutcome.Succeeded Succeeded(TransferOutcome outcome) =>
        outcome as TransferOutcome.Succeeded ?? throw new Xunit.Sdk.XunitException($"the copy did not succeed: {outcome}");
}
