using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R9 on an sftp-only target 60 ms away (200 Mbit/s): a large tape goes over several connections, each with many
/// SFTP write handles, and is proven by reading each block back while later ones are written; the stall watch still
/// tells a copy that moves from one whose link went dark.</summary>
public sealed class FarReadBackTests : IAsyncLifetime
{
    private WanLink _link = null!;
    private Sshd _sshd = null!;
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-src-").FullName;
    private readonly SftpTapeTransport _transport = new();

    public async Task InitializeAsync()
    {
        _link = await WanLink.Create(TimeSpan.FromMilliseconds(60), 200_000_000);
        _sshd = await Sshd.Create(behind: _link);
    }

    public async Task DisposeAsync()
    {
        await _sshd.DisposeAsync();
        await _link.DisposeAsync();
        Directory.Delete(_vault, true);
    }

    private string Pool => Path.Combine(_sshd.VaultRoot, "DRPOOL1");

    /// <summary>A tape of two chunks' worth and a little (two connections at 60 ms), whose copy takes several times the
    /// stall limit (1.5 × 2 s).</summary>
    private (TransferRequest Request, string Sha) Tape(string volser)
    {
        var source = Path.Combine(_vault, "POOL1", volser);
        var sha = TapeFiles.Write(source, (64L << 20) + 4321, seed: volser.GetHashCode());
        var target = _sshd.Target() with { SftpOnly = true, OperationTimeout = TimeSpan.FromSeconds(2) };
        return (new TransferRequest(source, target, PoolName.Parse("DRPOOL1"), Volser.Parse(volser)), sha);
    }

    [Fact]
    public async Task A_large_tape_goes_over_several_connections_of_write_handles_and_is_read_back_while_it_is_written()
    {
        var (request, sha) = Tape("F00001");
        using var events = new FileEvents(Directory.CreateDirectory(Pool).FullName, FileEvents.Read | FileEvents.Modified);

        var copied = await ReadBackCopies.Succeed(_transport, request);

        Assert.Equal((sha, TargetProof.ReadBack, 2), (copied.Sha256, copied.Proof, copied.Streams));
        ReadBackCopies.AssertReadBackBeganBeforeTheLastWrite(events, ".F00001.");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "F00001")));
        Assert.Empty(TapeFiles.Temporary(Pool, "F00001"));
    }

    [Fact]
    public async Task A_large_tape_whose_link_goes_dark_while_it_is_written_and_read_back_fails_as_stalled()
    {
        var (request, _) = Tape("F00002");
        await ReadBackCopies.AssertStalledWhenCutAtTheFirstReadBack(_transport, request, _link, Pool);
    }
}
