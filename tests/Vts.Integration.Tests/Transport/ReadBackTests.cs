using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R9 on an sftp-only target behind a slow link (40 Mbit/s): the copy is proven by reading it back over SFTP,
/// which takes as long as sending it did, and the stall watch must tell a read-back that moves from one that stopped
/// (issue #11).</summary>
public sealed class ReadBackTests() : BehindWanLink(TimeSpan.FromMilliseconds(10), 40_000_000)
{
    /// <summary>A tape whose read-back at 5 MB/s takes several times the stall limit.</summary>
    private (TransferRequest Request, string Sha) Tape(string volser, long size = 24L << 20) => SftpOnlyTape(volser, size);

    [Fact]
    public async Task A_read_back_longer_than_the_stall_limit_that_keeps_moving_proves_the_copy()
    {
        var (request, sha) = Tape("R00001");

        var outcome = await Transport.CopyAsync(request, CancellationToken.None);

        var copied = outcome as TransferOutcome.Succeeded ?? throw new Xunit.Sdk.XunitException($"the copy did not succeed: {outcome}");
        Assert.Equal((sha, TargetProof.ReadBack), (copied.Sha256, copied.Proof));
        Assert.True(copied.Verification > TimeSpan.FromSeconds(3), $"the read-back took {copied.Verification}, not past the stall limit");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "R00001")));
        Assert.Empty(TapeFiles.Temporary(Pool, "R00001"));
    }

    /// <summary>From 64 MiB on, a tape goes in blocks, and each block is read back as soon as the target acknowledged it,
    /// while later blocks are being written.</summary>
    private const long Large = 72L << 20;

    [Fact]
    public async Task A_large_tape_is_read_back_while_it_is_written_over_one_connection()
    {
        var (request, sha) = Tape("R00003", Large);
        var pool = Directory.CreateDirectory(Pool).FullName;
        using var events = new FileEvents(pool, FileEvents.Read | FileEvents.Modified);

        var copied = await ReadBackCopies.Succeed(Transport, request);

        Assert.Equal((sha, TargetProof.ReadBack, 1), (copied.Sha256, copied.Proof, copied.Streams)); // 10 ms: one is enough
        ReadBackCopies.AssertReadBackBeganBeforeTheLastWrite(events, ".R00003.");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(pool, "R00003")));
        Assert.Empty(TapeFiles.Temporary(pool, "R00003"));
    }

    [Fact]
    public async Task A_large_tape_whoseLink_goes_dark_while_it_is_written_and_read_back_fails_as_stalled()
    {
        var (request, _) = Tape("R00004", Large);
        await ReadBackCopies.AssertStalledWhenCutAtTheFirstReadBack(Transport, request, Link, Pool);
    }

    [Fact]
    public async Task A_read_back_that_stops_still_fails_the_attempt_within_the_timeouts()
    {
        // 24 MiB: uploaded whole, then read back; the link goes dark under the read-back.
        var (request, _) = Tape("R00002");
        await ReadBackCopies.AssertStalledWhenCutAtTheFirstReadBack(Transport, request, Link, Pool);
    }
}
