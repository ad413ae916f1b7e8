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
    private (TransferRequest Request, string Sha) Tape(string volser)
    {
        var source = Path.Combine(_vault, "POOL1", volser);
        var sha = TapeFiles.Write(source, 24L << 20, seed: volser.GetHashCode());
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
