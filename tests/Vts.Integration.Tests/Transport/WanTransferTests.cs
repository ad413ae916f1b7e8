using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>A target far away, behind an emulated WAN link (50 ms round trip, 400 Mbit/s): a large tape goes as
/// several ranges over connections of their own at once, and arrives whole and proven (R9).</summary>
public sealed class WanTransferTests() : BehindWanLink(TimeSpan.FromMilliseconds(50), 400_000_000)
{
    [Fact]
    public async Task A_large_tape_to_a_far_target_goes_in_ranges_at_once_and_arrives_whole_and_proven()
    {
        var length = (160L << 20) + 12_345; // ranges of whole MiB and a short last one
        var source = Path.Combine(Vault, "POOL1", "W00001");
        var sha = TapeFiles.Write(source, length);
        var request = new TransferRequest(source, Sshd.Target(), PoolName.Parse("DRPOOL1"), Volser.Parse("W00001"));

        var outcome = Succeeded(await Transport.CopyAsync(request, CancellationToken.None));

        Assert.Equal(4, outcome.Streams); // Stripes.MaxCount
        Assert.Equal((length, sha, TargetProof.HashedWhileWriting), (outcome.Size, outcome.Sha256, outcome.Proof)); // chunk by chunk
        var atTarget = Path.Combine(Sshd.VaultRoot, "DRPOOL1", "W00001");
        Assert.Equal(sha, TapeFiles.Sha256(atTarget));
        Assert.Empty(TapeFiles.Temporary(Path.Combine(Sshd.VaultRoot, "DRPOOL1"), "W00001"));
        Assert.True(Link.BytesOut >= length, $"the bytes went over the link ({Link.BytesOut} B carried)");
    }

    [Fact]
    public async Task A_source_that_changes_during_a_transfer_in_ranges_voids_the_attempt_and_leaves_no_final_name()
    {
        // The source grows during the transfer: the sequential hash and the ranges no longer agree with the tape as it
        // was measured, and the attempt is void. Nothing is renamed to the final name.
        var length = 96L << 20;
        var source = Path.Combine(Vault, "POOL1", "W00002");
        TapeFiles.Write(source, length);
        var request = new TransferRequest(source, Sshd.Target(), PoolName.Parse("DRPOOL1"), Volser.Parse("W00002"));
        var copy = Transport.CopyAsync(request, CancellationToken.None);
        await Wait.Until(() => Link.BytesOut > 8 << 20, TimeSpan.FromSeconds(60), "the transfer under way");
        await using (var grow = new FileStream(source, FileMode.Append)) grow.Write(new byte[4096]);

        var failed = Assert.IsType<TransferOutcome.Failed>(await copy);
        Assert.Contains("changed", failed.Cause);
        Assert.False(File.Exists(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "W00002")));
    }

    [Fact]
    public async Task ALink_that_goes_dark_mid_transfer_fails_the_attempt_within_the_operation_timeout_and_the_next_copy_arrives()
    {
        var target = Sshd.Target() with { OperationTimeout = TimeSpan.FromSeconds(15) }; // time enough to start four receivers at 50 ms
        var length = 96L << 20;
        var source = Path.Combine(Vault, "POOL1", "W00003");
        var sha = TapeFiles.Write(source, length);
        var request = new TransferRequest(source, target, PoolName.Parse("DRPOOL1"), Volser.Parse("W00003"));
        var copy = Transport.CopyAsync(request, CancellationToken.None);
        await Wait.Until(() => Link.BytesOut > 8 << 20, TimeSpan.FromSeconds(60), "the transfer under way");
        Link.Cut();

        // SSH.NET's send would block in the socket for as long as the kernel retransmits (many minutes).
        // Whichever timeout notices first says so (the stall watch, the receiver's answer, an SSH request); the slot is
        // free within the minute, and the target keeps its receiver (the link was at fault, not the target).
        var failed = Assert.IsType<TransferOutcome.Failed>(await copy.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain("streaming to the target failed", failed.Cause);
        Assert.False(File.Exists(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "W00003")));

        Link.Restore();
        var outcome = Succeeded(await Transport.CopyAsync(request, CancellationToken.None));
        Assert.Equal(sha, outcome.Sha256);
        Assert.True(outcome.Streams > 1, "still through the receiver, over several connections");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "W00003")));
    }

    [Fact]
    public async Task R17_An_attempt_cut_short_resumes_from_the_chunks_the_target_holds_not_from_zero()
    {
        var (request, length, sha) = await CutAtSixtyPercent("W00004");
        var before = Link.BytesOut;

        var outcome = Succeeded(await Transport.CopyAsync(request, CancellationToken.None));

        var resent = Link.BytesOut - before;
        Assert.Equal(sha, outcome.Sha256);
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "W00004")));
        // Cut at 60 % of what crossed the link: all but what was in flight (and a part-written piece per connection).
        Assert.True(outcome.Resumed >= length / 2, $"resumed {outcome.Resumed} B of {length}");
        Assert.True(resent <= length - outcome.Resumed + length / 20, $"sent {resent} B again of {length}; resumed {outcome.Resumed}");
        Assert.Empty(TapeFiles.Temporary(Path.Combine(Sshd.VaultRoot, "DRPOOL1"), "W00004")); // the earlier attempt's file too
    }

    [Fact]
    public async Task R17_A_source_that_changed_since_the_cut_is_sent_whole_again()
    {
        var (request, length, _) = await CutAtSixtyPercent("W00005");
        var sha = TapeFiles.Write(request.SourcePath, length, seed: 99);

        var outcome = Succeeded(await Transport.CopyAsync(request, CancellationToken.None));

        Assert.Equal(0, outcome.Resumed);
        Assert.Equal(sha, outcome.Sha256);
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "W00005")));
    }

    /// <summary>A large tape whose first attempt stalled with 60 % of it sent (the link went dark), the link back up.</summary>
    private async Task<(TransferRequest Request, long Length, string Sha)> CutAtSixtyPercent(string volser)
    {
        var target = Sshd.Target() with { OperationTimeout = TimeSpan.FromSeconds(15) }; // time enough to start four receivers at 50 ms
        var length = 320L << 20;
        var source = Path.Combine(Vault, "POOL1", volser);
        var sha = TapeFiles.Write(source, length);
        var request = new TransferRequest(source, target, PoolName.Parse("DRPOOL1"), Volser.Parse(volser));
        var start = Link.BytesOut;
        var copy = Transport.CopyAsync(request, CancellationToken.None);
        await Wait.Until(() => Link.BytesOut - start > length * 6 / 10 || copy.IsCompleted, TimeSpan.FromSeconds(120), "60 % of the tape sent");
        Assert.False(copy.IsCompleted, $"the copy ended before the cut: {(copy.IsCompleted ? copy.Result : null)}");
        Link.Cut();
        Assert.IsType<TransferOutcome.Failed>(await copy.WaitAsync(TimeSpan.FromSeconds(60)));
        Link.Restore();
        return (request, length, sha);
    }

    private static TransferOutcome.Succeeded Succeeded(TransferOutcome outcome) => outcome switch
    {
        TransferOutcome.Succeeded succeeded => succeeded,
        TransferOutcome.Failed failed => throw new Xunit.Sdk.XunitException($"the copy failed: {failed.Cause}"),
        _ => throw new Xunit.Sdk.XunitException($"the copy did not succeed: {outcome}"),
    };
}
