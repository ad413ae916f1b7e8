using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>R9 on an sftp-only target 60 ms away (200 Mbit/s): a large tape goes over several connections, each with many
/// SFTP write handles, and is proven by reading each block back while later ones are written; the stall watch still
/// tells a copy that moves from one whose link went dark.</summary>
public sealed class FarReadBackTests() : BehindWanLink(TimeSpan.FromMilliseconds(60), 200_000_000)
{
    /// <summary>Two chunks' worth and a little: two connections at 60 ms.</summary>
    private (TransferRequest Request, string Sha) Tape(string volser) => SftpOnlyTape(volser, (64L << 20) + 4321);

    [Fact]
    public async Task A_large_tape_goes_over_several_connections_of_write_handles_and_is_read_back_while_it_is_written()
    {
        var (request, sha) = Tape("F00001");
        using var events = new FileEvents(Directory.CreateDirectory(Pool).FullName, FileEvents.Read | FileEvents.Modified);

        var copied = await ReadBackCopies.Succeed(Transport, request);

        Assert.Equal((sha, TargetProof.ReadBack, 2), (copied.Sha256, copied.Proof, copied.Streams));
        ReadBackCopies.AssertReadBackBeganBeforeTheLastWrite(events, ".F00001.");
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(Pool, "F00001")));
        Assert.Empty(TapeFiles.Temporary(Pool, "F00001"));
    }

    [Fact]
    public async Task A_large_tape_whoseLink_goes_dark_while_it_is_written_and_read_back_fails_as_stalled()
    {
        var (request, _) = Tape("F00002");
        await ReadBackCopies.AssertStalledWhenCutAtTheFirstReadBack(Transport, request, Link, Pool);
    }
}
