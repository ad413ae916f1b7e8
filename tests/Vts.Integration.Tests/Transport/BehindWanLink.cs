using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Vts.Testing.Wan;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>Tests of the transport against a real sshd behind an emulated WAN link of their own (a network namespace
/// each), with a source vault and the transport under test.</summary>
public abstract class BehindWanLink(TimeSpan roundTrip, long bitsPerSecond) : IAsyncLifetime
{
    protected WanLink Link { get; private set; } = null!;
    protected Sshd Sshd { get; private set; } = null!;
    protected string Vault { get; } = Directory.CreateTempSubdirectory("vts-src-").FullName;
    protected SftpTapeTransport Transport { get; } = new();

    protected string Pool => Path.Combine(Sshd.VaultRoot, "DRPOOL1");

    public async Task InitializeAsync()
    {
        Link = await WanLink.Create(roundTrip, bitsPerSecond);
        Sshd = await Sshd.Create(behind: Link);
    }

    public async Task DisposeAsync()
    {
        await Sshd.DisposeAsync();
        await Link.DisposeAsync();
        Directory.Delete(Vault, true);
    }

    /// <summary>A tape of <paramref name="size"/> in the vault, to an sftp-only target whose stall limit is 3 s
    /// (1.5 × a 2 s operation timeout): a copy here takes several times that.</summary>
    protected (TransferRequest Request, string Sha) SftpOnlyTape(string volser, long size)
    {
        var source = Path.Combine(Vault, "POOL1", volser);
        var sha = TapeFiles.Write(source, size, seed: volser.GetHashCode());
        var target = Sshd.Target() with { SftpOnly = true, OperationTimeout = TimeSpan.FromSeconds(2) };
        return (new TransferRequest(source, target, PoolName.Parse("DRPOOL1"), Volser.Parse(volser)), sha);
    }
}
