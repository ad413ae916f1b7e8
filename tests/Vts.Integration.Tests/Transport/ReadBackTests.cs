using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R9 on an sftp-only target behind a slow link (40 Mbit/s): the copy is proven by reading it back over SFTP,
/// which takes as long as sending it did, and the stall watch must tell a read-back that moves from one that stopped
/// (issue #11).</summary>
public sealed class ReadBackTests : IAsyncLifetime
{
    private WanLink _link = null!;
    private Sshd _sshd = null!;
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-src-").FullName;
    private readonly SftpTapeTransport _transport = new();

    public async Task InitializeAsync()
    {
        _link = await WanLink.Create(TimeSpan.FromMilliseconds(10), 40_000_000);
        _sshd = await Sshd.Create(behind: _link);
    }

    public async Task DisposeAsync()
    {
        await _sshd.DisposeAsync();
        await _link.DisposeAsync();
        Directory.Delete(_vault, true);
    }

    /// <summary>A tape whose read-back at 5 MB/s takes several times the stall limit (1.5 × 2 s).</summary>
    private (TransferRequest Request, string Sha) Tape(string volser, long size = 24L << 20)
    {
        var source = Path.Combine(_vault, "POOL1", volser);
        var sha = TapeFiles.Write(source, size, seed: volser.GetHashCode());
        var target = _sshd.Target() with { SftpOnly = true, OperationTimeout = TimeSpan.FromSeconds(2) };
        return (new TransferRequest(source, target, PoolName.Parse("DRPOOL1"), Volser.Parse(volser)), sha);
    }

    [Fact]
    public async Task A_read_back_longer_than_the_stall_limit_that_keeps_moving_proves_the_copy()
    {
        var (request, sha) = Tape("R00001");

        var outcome = await _transport.CopyAsync(request, CancellationToken.None);

        var copied = outcome as TransferOutcome.Succeeded ?? throw new Xunit.Sdk.XunitException($"the copy did not succeed: {outcome}");
        Assert.Equal((sha, TargetProof.ReadBack), (copied.Sha256, copied.Proof));
        Assert.True(copied.Verification > TimeSpan.FromSeconds(3), $"the read-back took {copied.Verification}, not past the stall limit");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(_sshd.VaultRoot, "DRPOOL1", "R00001")));
        Assert.Empty(TapeFiles.Temporary(Path.Combine(_sshd.VaultRoot, "DRPOOL1"), "R00001"));
    }

    /// <summary>From 64 MiB on, a tape goes in blocks, and each block is read back as soon as the target acknowledged it,
    /// while later blocks are being written.</summary>
    private const long Large = 72L << 20;

    [Fact]
    public async Task A_large_tape_is_read_back_while_it_is_written_over_one_connection()
    {
        var (request, sha) = Tape("R00003", Large);
        var pool = Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "DRPOOL1")).FullName;
        using var events = new FileEvents(pool, FileEvents.Read | FileEvents.Modified);

        var copied = await ReadBackCopies.Succeed(_transport, request);

        Assert.Equal((sha, TargetProof.ReadBack, 1), (copied.Sha256, copied.Proof, copied.Streams)); // 10 ms: one is enough
        ReadBackCopies.AssertReadBackBeganBeforeTheLastWrite(events, ".R00003.");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(pool, "R00003")));
        Assert.Empty(TapeFiles.Temporary(pool, "R00003"));
    }

    [Fact]
    public async Task A_large_tape_whose_link_goes_dark_while_it_is_written_and_read_back_fails_as_stalled()
    {
        var (request, _) = Tape("R00004", Large);
        await ReadBackCopies.AssertStalledWhenCutAtTheFirstReadBack(_transport, request, _link, Path.Combine(_sshd.VaultRoot, "DRPOOL1"));
    }

    [Fact]
    public async Task A_read_back_that_stops_still_fails_the_attempt_within_the_timeouts()
    {
        var (request, _) = Tape("R00002");
        var pool = Directory.CreateDirectory(Path.Combine(_sshd.VaultRoot, "DRPOOL1")).FullName;
        using var reads = new FileEvents(pool, FileEvents.Read);
        var cutting = Task.Factory.StartNew(() =>
        {
            // The first read of the temporary file is its read-back: the link goes dark under it.
            if (reads.WaitFor(e => e.Name.StartsWith(".R00002.", StringComparison.Ordinal), TimeSpan.FromSeconds(120)) is null)
                throw new TimeoutException("the temporary file was never read back");
            _link.Cut();
        }, TaskCreationOptions.LongRunning);

        var copying = _transport.CopyAsync(request, CancellationToken.None);
        await cutting;
        var failed = Assert.IsType<TransferOutcome.Failed>(await copying.WaitAsync(TimeSpan.FromSeconds(40)));

        Assert.Equal(FailureKind.Transfer, failed.Kind);
        Assert.Contains("stalled", failed.Cause); // the stall watch ended it, not some other failure
        Assert.False(Path.Exists(Path.Combine(pool, "R00002")));
    }
}
