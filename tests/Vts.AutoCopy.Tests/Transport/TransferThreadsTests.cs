using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

public sealed class TransferThreadsTests
{
    [Fact]
    public void The_pool_keeps_a_sender_and_a_reader_for_every_connection_of_every_transfer_and_is_never_lowered()
    {
        Assert.Equal(16 + 2 * Stripes.MaxCount * 10, TransferThreads.Needed(10));
        Assert.Equal(TransferThreads.Needed(1), TransferThreads.Needed(0)); // a node always may run one

        TransferThreads.Reserve(10);
        ThreadPool.GetMinThreads(out var raised, out _);
        Assert.True(raised >= TransferThreads.Needed(10), $"minimum {raised}");

        TransferThreads.Reserve(1);
        ThreadPool.GetMinThreads(out var after, out _);
        Assert.Equal(raised, after);
    }
}
