using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Transport;

/// <summary>Faults of the target's file system, named as the target has them (SFTP says "Failure" to most): a full
/// disk (a small tmpfs), a read-only file system, a vault root that is not there. On every path a tape can take: SFTP,
/// the hashing receiver, and <c>cat</c> where the target has no python.</summary>
public sealed class TargetFaultTests : IAsyncLifetime
{
    private Sshd _sshd = null!;
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-src-").FullName;
    private static readonly PoolName DrPool = PoolName.Parse("DRPOOL1");
    private string PoolFolder => Path.Combine(_sshd.VaultRoot, DrPool.Value);

    public async Task InitializeAsync()
    {
        _sshd = await Sshd.Create();
        Directory.CreateDirectory(PoolFolder);
        await Sshd.Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", PoolFolder);
    }

    public async Task DisposeAsync()
    {
        await Sshd.Run("umount", "-l", PoolFolder);
        await _sshd.DisposeAsync();
        Directory.Delete(_vault, true);
    }

    private TransferRequest Request(string volser) =>
        new(Path.Combine(_vault, "POOL1", volser), _sshd.Target(), DrPool, Volser.Parse(volser));

    public static TheoryData<long, bool> Paths => new()
    {
        { 2L << 20, true },                                       // SFTP
        { SftpTapeTransport.StreamingThreshold + 5, true },       // the hashing receiver
        { SftpTapeTransport.StreamingThreshold + 5, false },      // cat, then a hash at the target
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_full_target_is_named_with_its_free_space_and_the_copy_goes_through_once_there_is_room(long size, bool python)
    {
        var sha = TapeFiles.Write(Path.Combine(_vault, "POOL1", "F00001"), size);
        var transport = python ? new SftpTapeTransport() : new SftpTapeTransport(python: null);

        var full = Assert.IsType<TransferOutcome.Failed>(await transport.CopyAsync(Request("F00001"), CancellationToken.None));
        Assert.StartsWith($"no space left at the target: {PoolFolder} on dr has ", full.Cause);
        Assert.Contains($"free, the tape is {size / (double)(1 << 20):F1} MiB", full.Cause);
        Assert.Empty(Directory.GetFileSystemEntries(PoolFolder)); // the attempt's temporary file removed, room given back

        await Sshd.Run("mount", "-o", "remount,size=200m", PoolFolder);
        Assert.IsType<TransferOutcome.Succeeded>(await transport.CopyAsync(Request("F00001"), CancellationToken.None));
        Assert.Equal(sha, TapeFiles.Sha256(Path.Combine(PoolFolder, "F00001")));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_read_only_target_pool_folder_is_named_so(long size, bool python)
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "R00001"), size);
        await Sshd.Run("mount", "-o", "remount,ro", PoolFolder);
        var transport = python ? new SftpTapeTransport() : new SftpTapeTransport(python: null);

        var failed = Assert.IsType<TransferOutcome.Failed>(await transport.CopyAsync(Request("R00001"), CancellationToken.None));
        Assert.StartsWith($"{PoolFolder} on dr is on a read-only file system (transfer to dr failed: ", failed.Cause);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_target_pool_folder_the_targets_user_may_not_write_is_named_so(long size, bool python)
    {
        // The tests' target user is root, whom file modes do not stop: an immutable folder (chattr +i, on the vault's
        // own file system, not the tmpfs) refuses even root, with EPERM, as a folder of another owner refuses a user.
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "P00001"), size);
        var folder = Path.Combine(_sshd.VaultRoot, "DRPOOL2");
        Directory.CreateDirectory(folder);
        await Sshd.Run("chattr", "+i", folder);
        try
        {
            var request = Request("P00001") with { TargetPool = PoolName.Parse("DRPOOL2") };
            var transport = python ? new SftpTapeTransport() : new SftpTapeTransport(python: null);
            var failed = Assert.IsType<TransferOutcome.Failed>(await transport.CopyAsync(request, CancellationToken.None));
            Assert.StartsWith($"permission denied at the target: {_sshd.User}@dr may not write in {folder} (transfer to dr failed: ", failed.Cause);
        }
        finally
        {
            await Sshd.Run("chattr", "-i", folder);
        }
    }

    [Fact]
    public async Task A_vault_root_missing_at_the_target_is_named()
    {
        TapeFiles.Write(Path.Combine(_vault, "POOL1", "M00001"), 4096);
        var missing = Path.Combine(_sshd.Dir, "no-such-vault");
        var request = Request("M00001") with { Target = _sshd.Target() with { VaultRoot = missing } };

        var failed = Assert.IsType<TransferOutcome.Failed>(await new SftpTapeTransport().CopyAsync(request, CancellationToken.None));
        Assert.StartsWith($"the vault root {missing} does not exist on dr (", failed.Cause);
    }
}
