using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>What the read-back tests of large tapes to sftp-only targets check, near and far alike.</summary>
internal static class ReadBackCopies
{
    public static async Task<TransferOutcome.Succeeded> Succeed(SftpTapeTransport transport, TransferRequest request)
    {
        var outcome = await transport.CopyAsync(request, CancellationToken.None);
        return outcome as TransferOutcome.Succeeded ?? throw new Xunit.Sdk.XunitException($"the copy did not succeed: {outcome}");
    }

    /// <summary>The proof ran alongside the upload: the temporary file (named from <paramref name="prefix"/>) was read
    /// at the target before it was last written.</summary>
    public static void AssertReadBackBeganBeforeTheLastWrite(FileEvents events, string prefix)
    {
        var temporary = events.Take().Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var firstRead = temporary.FindIndex(e => (e.Mask & FileEvents.Read) != 0);
        var lastWrite = temporary.FindLastIndex(e => (e.Mask & FileEvents.Modified) != 0);
        Assert.True(firstRead >= 0 && firstRead < lastWrite, $"the first read back at event {firstRead}, the last write at {lastWrite}");
    }

    /// <summary>The link goes dark as the read-back begins, the upload still running: the stall watch ends the attempt
    /// within its limit (the target's operation timeout × 1.5), and no final name appears.</summary>
    public static async Task AssertStalledWhenCutAtTheFirstReadBack(SftpTapeTransport transport, TransferRequest request, WanLink link,
        string pool)
    {
        Directory.CreateDirectory(pool);
        using var reads = new FileEvents(pool, FileEvents.Read);
        var prefix = $".{request.Volser}.";
        var cutting = Task.Factory.StartNew(() =>
        {
            if (reads.WaitFor(e => e.Name.StartsWith(prefix, StringComparison.Ordinal), TimeSpan.FromSeconds(120)) is null)
                throw new TimeoutException("the temporary file was never read back");
            link.Cut();
        }, TaskCreationOptions.LongRunning);

        var copying = transport.CopyAsync(request, CancellationToken.None);
        await cutting;
        var failed = Assert.IsType<TransferOutcome.Failed>(await copying.WaitAsync(TimeSpan.FromSeconds(40)));

        Assert.Equal(FailureKind.Transfer, failed.Kind);
        Assert.Contains("stalled", failed.Cause); // the stall watch ended it, not some other failure
        Assert.False(Path.Exists(Path.Combine(pool, request.Volser.Value)));
    }
}
