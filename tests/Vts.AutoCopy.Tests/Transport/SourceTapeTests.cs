using Mono.Unix.Native;
using Vts.AutoCopy.Transport;
using Vts.Testing;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>R15 at the source: only a regular file in its pool's folder is read as a tape; nothing else is followed,
/// and nothing makes the open wait.</summary>
public sealed class SourceTapeTests : IDisposable
{
    private readonly string _vault = Directory.CreateTempSubdirectory("vts-source-").FullName;
    private readonly string _pool;
    private readonly string _elsewhere;

    public SourceTapeTests()
    {
        _pool = Directory.CreateDirectory(Path.Combine(_vault, "POOL1")).FullName;
        _elsewhere = Directory.CreateTempSubdirectory("vts-elsewhere-").FullName;
        File.WriteAllText(Path.Combine(_elsewhere, "secret"), "not a tape");
    }

    public void Dispose()
    {
        Directory.Delete(_vault, true);
        Directory.Delete(_elsewhere, true);
    }

    /// <summary>Opened on a thread of its own with a deadline: an open that blocks fails the test instead of hanging it.</summary>
    private static async Task<SourceRefusedException> Refused(string path)
    {
        var opening = Task.Run(() => SourceTape.Open(path));
        return await Assert.ThrowsAsync<SourceRefusedException>(() => opening.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_regular_file_is_read_from_its_start()
    {
        await File.WriteAllTextAsync(Path.Combine(_pool, "A00001"), "tape bytes");
        await using var tape = SourceTape.Open(Path.Combine(_pool, "A00001"));
        Assert.Equal("tape bytes", await new StreamReader(tape).ReadToEndAsync());
    }

    [Fact]
    public async Task A_symbolic_link_under_a_tapes_name_is_not_followed()
    {
        File.CreateSymbolicLink(Path.Combine(_pool, "L00001"), Path.Combine(_elsewhere, "secret"));
        var refused = await Refused(Path.Combine(_pool, "L00001"));
        Assert.True(refused.Security);
        Assert.Contains("is a symbolic link; not followed (R15)", refused.Message);
    }

    [Fact]
    public async Task A_link_to_a_device_is_not_followed_either()
    {
        File.CreateSymbolicLink(Path.Combine(_pool, "Z00001"), "/dev/zero");
        Assert.Contains("symbolic link", (await Refused(Path.Combine(_pool, "Z00001"))).Message);
    }

    [Fact]
    public async Task A_FIFO_under_a_tapes_name_is_refused_at_once_not_waited_on()
    {
        Assert.Equal(0, Syscall.mkfifo(Path.Combine(_pool, "F00001"), FilePermissions.DEFFILEMODE));
        var refused = await Refused(Path.Combine(_pool, "F00001"));
        Assert.True(refused.Security);
        Assert.Contains("is a FIFO, not a regular file", refused.Message);
    }

    [Fact]
    public async Task A_device_node_under_a_tapes_name_is_refused()
    {
        // The device /dev/null is (character, 1, 3); making one needs root, as the WAN tests do.
        Assert.Equal(0, Syscall.mknod(Path.Combine(_pool, "D00001"), FilePermissions.S_IFCHR | FilePermissions.S_IRUSR, (1UL << 8) | 3));
        var refused = await Refused(Path.Combine(_pool, "D00001"));
        Assert.True(refused.Security);
        Assert.Contains("is a character device", refused.Message);
    }

    [Theory]
    [InlineData("fifo")]    // one with no writer: an O_NONBLOCK open for reading would succeed
    [InlineData("device")]  // opening a device runs its driver (a tape drive rewinds)
    public async Task What_is_not_a_regular_file_is_refused_from_a_look_at_it_and_never_opened(string kind)
    {
        var path = Path.Combine(_pool, "N00001");
        Assert.Equal(0, kind == "fifo"
            ? Syscall.mkfifo(path, FilePermissions.DEFFILEMODE)
            : Syscall.mknod(path, FilePermissions.S_IFCHR | FilePermissions.S_IRUSR, (1UL << 8) | 3)); // /dev/null's numbers; needs root
        using var opens = new FileEvents(path, FileEvents.Opened);

        var refused = await Refused(path);

        Assert.True(refused.Security);
        Assert.EndsWith(", not a regular file; not opened (R15)", refused.Message);
        Assert.Empty(opens.Take());
        // The watch does see an open of it: no event above means no open.
        Assert.True(Syscall.close(Syscall.open(path, OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK)) == 0, "the test's own open failed");
        Assert.Single(opens.Take());
    }

    [Fact]
    public async Task A_folder_under_a_tapes_name_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(_pool, "G00001"));
        Assert.Contains("is a folder, not a regular file", (await Refused(Path.Combine(_pool, "G00001"))).Message);
    }

    [Fact]
    public async Task A_pool_folder_that_is_a_link_is_not_read_through()
    {
        File.CreateSymbolicLink(Path.Combine(_vault, "POOL2"), _elsewhere);
        var refused = await Refused(Path.Combine(_vault, "POOL2", "secret"));
        Assert.True(refused.Security);
        Assert.Contains("pool folder", refused.Message);
        Assert.Contains("a symbolic link, not a folder", refused.Message);
    }

    [Fact]
    public async Task A_missing_tape_or_pool_is_not_found_not_a_security_matter()
    {
        var missing = await Refused(Path.Combine(_pool, "M00001"));
        Assert.False(missing.Security);
        Assert.Contains("not found", missing.Message);
        Assert.Contains("not found", (await Refused(Path.Combine(_vault, "NOPOOL", "M00001"))).Message);
    }
}
