using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>The receiver a session streams large tapes into, run here by a real shell and python3, and the reading of
/// what it answers: an answer is trusted only in its one exact form.</summary>
public sealed class TargetWriterTests
{
    private const string Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// <summary>The receiver, started here by a real shell and python3, past its ready line.</summary>
    private static async Task<(Process Shell, Stream Input, Stream Output)> StartReceiver()
    {
        var shell = Shell(TargetWriter.ReceiverCommand(TargetWriter.Python));
        Assert.Equal(TargetWriter.Ready, await TargetWriter.ReadLine(shell.StandardOutput.BaseStream, CancellationToken.None));
        return (shell, shell.StandardInput.BaseStream, shell.StandardOutput.BaseStream);
    }

    [Fact]
    public void An_answer_of_a_hash_and_a_size_is_read()
    {
        Assert.Equal(new TargetWriter.Report.Written(Hex, 1234), TargetWriter.Parse($"sha256 {Hex} 1234"));
    }

    [Fact]
    public void A_target_that_could_not_write_is_quoted_without_its_control_characters()
    {
        var refused = Assert.IsType<TargetWriter.Report.Refused>(TargetWriter.Parse("error No space\u001b[2J left"));
        Assert.Equal("No space?[2J left", refused.Reason);
    }

    [Theory]
    [InlineData(null)]                                              // the receiver ended
    [InlineData("")]
    [InlineData("sha256 " + Hex)]                                   // no size
    [InlineData("sha256 " + Hex + " -5")]                           // a negative size
    [InlineData("sha256 " + Hex + " 9999999999999999999")]          // a size past what a tape can be
    [InlineData("sha256 " + Hex + " 12 extra")]
    [InlineData("sha256 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08 1")] // not our case
    [InlineData("sha256 9f86d081 1")]                               // a short hash
    [InlineData("SHA256 " + Hex + " 1")]
    [InlineData("ready 1")]
    [InlineData("\0\0\0")]
    public void Any_other_answer_is_garbled(string? line)
    {
        Assert.IsType<TargetWriter.Report.Garbled>(TargetWriter.Parse(line));
    }

    [Fact]
    public async Task A_line_is_read_up_to_its_newline_and_no_further()
    {
        var output = new MemoryStream(Encoding.ASCII.GetBytes($"ready 1\nsha256 {Hex} 3\ntail"));
        Assert.Equal("ready 1", await TargetWriter.ReadLine(output, CancellationToken.None));
        Assert.Equal($"sha256 {Hex} 3", await TargetWriter.ReadLine(output, CancellationToken.None));
        Assert.Equal("tail", await TargetWriter.ReadLine(output, CancellationToken.None));
        Assert.Null(await TargetWriter.ReadLine(output, CancellationToken.None));
    }

    [Fact]
    public async Task An_oversized_answer_is_cut_at_its_limit_and_then_refused()
    {
        var flood = new MemoryStream(Encoding.ASCII.GetBytes($"sha256 {Hex} 1 " + new string('x', 10_000_000)));
        var line = await TargetWriter.ReadLine(flood, CancellationToken.None);

        Assert.Equal(TargetWriter.MaxLine + 1, line!.Length);
        Assert.IsType<TargetWriter.Report.Garbled>(TargetWriter.Parse(line));
        Assert.True(flood.Position <= TargetWriter.MaxLine + 1, "read past the limit");
    }

    [Theory]
    [InlineData("/vault/DR1/.A00001.autocopy.tmp\n/etc/passwd")]
    [InlineData("/vault/DR1/A\r")]
    [InlineData("/vault/\0")]
    public void A_path_that_could_break_the_header_line_is_refused(string path)
    {
        Assert.Throws<ArgumentException>(() => TargetWriter.Header(1, path));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("it's")]
    [InlineData("$(touch pwned) `x` \"q\" ; & | *")]
    public async Task A_quoted_word_reaches_the_shell_as_one_word(string value)
    {
        using var shell = Shell($"printf %s {TargetWriter.ShellQuote(value)}");
        Assert.Equal(value, await shell.StandardOutput.ReadToEndAsync());
    }

    [Fact]
    public async Task Without_the_python_it_names_the_receiver_says_so_and_ends()
    {
        using var shell = Shell(TargetWriter.ReceiverCommand("no-such-python3"));
        Assert.Equal("no python3", await TargetWriter.ReadLine(shell.StandardOutput.BaseStream, CancellationToken.None));
    }

    [Fact]
    public async Task One_receiver_writes_tape_after_tape_with_each_ones_SHA256_and_size_and_stays_in_step_after_a_refusal()
    {
        var tapes = new (long Size, string Directory)[]
        {
            ((2 << 20) + 12_345, "/tmp"),     // a short last buffer: written without O_DIRECT
            (0, "/tmp"),
            (1, "/tmp"),
            ((3 << 20) + 4096, "/proc/no-such-dir"), // cannot be written: refused, and its bytes still read
            ((3 << 20) + 4096, "/tmp"),       // whole blocks, not whole buffers
            ((1 << 20) + 7, "/dev/shm"),      // tmpfs
        };
        var (shell, input, output) = await StartReceiver();
        using var _ = shell;
        var written = new List<string>();
        try
        {
            foreach (var (size, directory) in tapes)
            {
                var bytes = new byte[size];
                new Random((int)size).NextBytes(bytes);
                var path = Path.Combine(directory, $"vts-receiver-{Guid.NewGuid():N}");
                await input.WriteAsync(TargetWriter.Header(size, path));
                await input.WriteAsync(bytes);
                await input.FlushAsync();
                var answer = TargetWriter.Parse(await TargetWriter.ReadLine(output, CancellationToken.None));

                if (directory.StartsWith("/proc"))
                {
                    Assert.Contains("No such file or directory", Assert.IsType<TargetWriter.Report.Refused>(answer).Reason);
                    continue;
                }
                written.Add(path);
                Assert.Equal(new TargetWriter.Report.Written(Convert.ToHexStringLower(SHA256.HashData(bytes)), size), answer);
                Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
            }
        }
        finally
        {
            written.ForEach(File.Delete);
        }
    }

    [Fact]
    public async Task A_file_left_at_the_path_is_replaced_not_overwritten_in_place()
    {
        var path = Path.Combine("/tmp", $"vts-receiver-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(path, new byte[5 << 20]);
        using var leftover = File.OpenHandle(path); // a writer still holding the old file writes into that, not into the new
        var bytes = new byte[(1 << 20) + 7];
        new Random(5).NextBytes(bytes);
        try
        {
            using var shell = Shell(TargetWriter.ReceiverCommand(TargetWriter.Python));
            Assert.Equal(TargetWriter.Ready, await TargetWriter.ReadLine(shell.StandardOutput.BaseStream, CancellationToken.None));
            await shell.StandardInput.BaseStream.WriteAsync(TargetWriter.Header(bytes.Length, path));
            await shell.StandardInput.BaseStream.WriteAsync(bytes);
            await shell.StandardInput.BaseStream.FlushAsync();

            Assert.Equal(new TargetWriter.Report.Written(Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes.Length),
                TargetWriter.Parse(await TargetWriter.ReadLine(shell.StandardOutput.BaseStream, CancellationToken.None)));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
            Assert.Equal(5 << 20, RandomAccess.GetLength(leftover));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Ranges_go_at_their_offsets_into_the_file_already_there_and_each_answer_hashes_its_own_bytes()
    {
        var path = Path.Combine("/tmp", $"vts-receiver-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(path, []); // as the transport creates it, exclusively, before the ranges join it
        var bytes = new byte[(3 << 20) + 12_345];
        new Random(7).NextBytes(bytes);
        try
        {
            var (shell, input, output) = await StartReceiver();
            using var _ = shell;
            // The later range first: a range may arrive before the ones before it.
            foreach (var (offset, length) in new[] { (2L << 20, bytes.Length - (2 << 20)), (0L, 2 << 20) })
            {
                await input.WriteAsync(TargetWriter.Header(length, path, offset));
                await input.WriteAsync(bytes.AsMemory((int)offset, length));
                await input.FlushAsync();
                var answer = Assert.IsType<TargetWriter.Report.Written>(TargetWriter.Parse(await TargetWriter.ReadLine(output, CancellationToken.None)));
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan((int)offset, length))), answer.Sha256);
            }
            Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_range_is_never_written_through_a_link_into_a_fifo_or_into_nothing_and_the_stream_stays_in_step()
    {
        var dir = Directory.CreateTempSubdirectory("vts-receiver-").FullName;
        var victim = Path.Combine(dir, "victim");
        await File.WriteAllTextAsync(victim, "precious");
        File.CreateSymbolicLink(Path.Combine(dir, "link"), victim);
        Assert.Equal(0, Mono.Unix.Native.Syscall.mkfifo(Path.Combine(dir, "fifo"), Mono.Unix.Native.FilePermissions.DEFFILEMODE));
        var bytes = new byte[(1 << 20) + 3];
        try
        {
            var (shell, input, output) = await StartReceiver();
            using var _ = shell;
            foreach (var name in new[] { "link", "fifo", "missing" })
            {
                await input.WriteAsync(TargetWriter.Header(bytes.Length, Path.Combine(dir, name), offset: 0));
                await input.WriteAsync(bytes);
                await input.FlushAsync();
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a FIFO must not hang it
                Assert.IsType<TargetWriter.Report.Refused>(TargetWriter.Parse(await TargetWriter.ReadLine(output, deadline.Token)));
            }
            Assert.Equal("precious", await File.ReadAllTextAsync(victim));
            Assert.False(File.Exists(Path.Combine(dir, "missing")));

            // Still in step: a new file after the refusals is written whole.
            var path = Path.Combine(dir, "tape");
            await input.WriteAsync(TargetWriter.Header(bytes.Length, path));
            await input.WriteAsync(bytes);
            await input.FlushAsync();
            Assert.IsType<TargetWriter.Report.Written>(TargetWriter.Parse(await TargetWriter.ReadLine(output, CancellationToken.None)));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task R15_The_receiver_renames_onto_a_free_name_or_a_regular_file_and_refuses_a_link_a_dangling_link_a_folder_or_a_fifo()
    {
        var dir = Directory.CreateTempSubdirectory("vts-receiver-").FullName;
        var victim = Path.Combine(dir, "victim");
        await File.WriteAllTextAsync(victim, "precious");
        File.CreateSymbolicLink(Path.Combine(dir, "link"), victim);
        File.CreateSymbolicLink(Path.Combine(dir, "dangling"), Path.Combine(dir, "nowhere"));
        Directory.CreateDirectory(Path.Combine(dir, "folder"));
        Assert.Equal(0, Mono.Unix.Native.Syscall.mkfifo(Path.Combine(dir, "fifo"), Mono.Unix.Native.FilePermissions.DEFFILEMODE));
        await File.WriteAllTextAsync(Path.Combine(dir, "older"), "older copy");
        try
        {
            var (shell, input, output) = await StartReceiver();
            using var _ = shell;
            async Task<string?> Rename(string to)
            {
                var temp = Path.Combine(dir, $".tmp-{to}");
                await File.WriteAllTextAsync(temp, $"new copy for {to}");
                await input.WriteAsync(TargetWriter.Request("rename", temp, Path.Combine(dir, to)));
                await input.FlushAsync();
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                return await TargetWriter.ReadLine(output, deadline.Token);
            }

            Assert.Equal("refused link", await Rename("link"));
            Assert.Equal("refused link", await Rename("dangling"));
            Assert.Equal("refused folder", await Rename("folder"));
            Assert.Equal("refused fifo", await Rename("fifo"));
            Assert.Equal("renamed", await Rename("older"));
            Assert.Equal("renamed", await Rename("free"));

            Assert.Equal("precious", await File.ReadAllTextAsync(victim));
            Assert.False(File.Exists(Path.Combine(dir, "nowhere")));
            Assert.Equal("new copy for older", await File.ReadAllTextAsync(Path.Combine(dir, "older")));
            Assert.Equal("new copy for free", await File.ReadAllTextAsync(Path.Combine(dir, "free")));
            Assert.Equal(victim, new FileInfo(Path.Combine(dir, "link")).LinkTarget);

            // Unlink removes a link itself, never what it points to.
            await input.WriteAsync(TargetWriter.Request("unlink", Path.Combine(dir, "link")));
            await input.FlushAsync();
            Assert.Equal("unlinked", await TargetWriter.ReadLine(output, CancellationToken.None));
            Assert.False(File.Exists(Path.Combine(dir, "link")) || new FileInfo(Path.Combine(dir, "link")).LinkTarget is not null);
            Assert.Equal("precious", await File.ReadAllTextAsync(victim));

            // A temporary file that is itself a link is never moved: what it points to stays where it is.
            File.CreateSymbolicLink(Path.Combine(dir, ".tmp-planted"), victim);
            await input.WriteAsync(TargetWriter.Request("rename", Path.Combine(dir, ".tmp-planted"), Path.Combine(dir, "planted")));
            await input.FlushAsync();
            Assert.StartsWith("error ", await TargetWriter.ReadLine(output, CancellationToken.None));
            Assert.False(File.Exists(Path.Combine(dir, "planted")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task R17_The_receiver_hashes_a_files_chunks_and_copies_proven_chunks_into_another_file_never_through_a_link()
    {
        var dir = Directory.CreateTempSubdirectory("vts-receiver-").FullName;
        var earlier = Path.Combine(dir, "earlier");
        var bytes = new byte[(5 << 20) + 333];
        new Random(11).NextBytes(bytes);
        await File.WriteAllBytesAsync(earlier, bytes);
        File.CreateSymbolicLink(Path.Combine(dir, "link"), earlier);
        var ours = Path.Combine(dir, "ours");
        await File.WriteAllBytesAsync(ours, []);
        const long chunk = 2 << 20;
        try
        {
            var (shell, input, output) = await StartReceiver();
            using var _ = shell;
            async Task<string?> Line() => await TargetWriter.ReadLine(output, CancellationToken.None);

            await input.WriteAsync(TargetWriter.Request($"chunks {chunk} {earlier}"));
            await input.FlushAsync();
            Assert.Equal($"chunks {bytes.Length}", await Line());
            for (var offset = 0; offset < bytes.Length; offset += (int)chunk)
                Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(offset, Math.Min((int)chunk, bytes.Length - offset)))), await Line());

            await input.WriteAsync(TargetWriter.Request($"chunks {chunk} {Path.Combine(dir, "link")}"));
            await input.FlushAsync();
            Assert.StartsWith("error ", await Line());

            // The second chunk and the short last one, copied at their offsets; then one read through the link: refused.
            await input.WriteAsync(TargetWriter.Request($"copy {chunk} {chunk}", earlier, ours));
            await input.WriteAsync(TargetWriter.Request($"copy {2 * chunk} {bytes.Length - 2 * chunk}", earlier, ours));
            await input.WriteAsync(TargetWriter.Request($"copy 0 {chunk}", Path.Combine(dir, "link"), ours));
            await input.FlushAsync();
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan((int)chunk, (int)chunk))),
                Assert.IsType<TargetWriter.Report.Written>(TargetWriter.Parse(await Line())).Sha256);
            Assert.Equal(new TargetWriter.Report.Written(Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(2 * (int)chunk))), bytes.Length),
                TargetWriter.Parse(await Line()));
            Assert.IsType<TargetWriter.Report.Refused>(TargetWriter.Parse(await Line()));

            var copied = await File.ReadAllBytesAsync(ours);
            Assert.Equal(bytes.AsSpan((int)chunk).ToArray(), copied.AsSpan((int)chunk).ToArray());
            Assert.All(copied.Take((int)chunk), b => Assert.Equal(0, b)); // never copied: a hole
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task R14_R15_R17_The_receiver_begins_a_copy_in_one_answer_and_never_creates_through_a_link()
    {
        var root = Directory.CreateTempSubdirectory("vts-receiver-").FullName;
        var elsewhere = Directory.CreateTempSubdirectory("vts-elsewhere-").FullName;
        try
        {
            var (shell, input, output) = await StartReceiver();
            using var _ = shell;
            async Task<string?> Begin(string pool, string volser, string temp)
            {
                await input.WriteAsync(TargetWriter.Request("begin", root, pool, volser, temp));
                await input.FlushAsync();
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                return await TargetWriter.ReadLine(output, deadline.Token);
            }
            const string temp = ".A00001.0123456789abcdef.autocopy.tmp";

            // A pool folder not there yet is made, the temporary file created in it, and no earlier attempt found.
            Assert.Equal("begun 0 -", await Begin("DRPOOL1", "A00001", temp));
            Assert.True(File.Exists(Path.Combine(root, "DRPOOL1", temp)));
            // The same temporary name again: created exclusively, so refused.
            Assert.StartsWith("error ", await Begin("DRPOOL1", "A00001", temp));

            // R17: the largest earlier attempt's file, a regular file named as we name them; links and other names are not.
            await File.WriteAllBytesAsync(Path.Combine(root, "DRPOOL1", ".B00001.00000000000000aa.autocopy.tmp"), new byte[300]);
            await File.WriteAllBytesAsync(Path.Combine(root, "DRPOOL1", ".B00001.00000000000000bb.autocopy.tmp"), new byte[500]);
            await File.WriteAllBytesAsync(Path.Combine(root, "DRPOOL1", ".B00001.planted.autocopy.tmp"), new byte[900]);
            await File.WriteAllBytesAsync(Path.Combine(elsewhere, "big"), new byte[5000]);
            File.CreateSymbolicLink(Path.Combine(root, "DRPOOL1", ".B00001.00000000000000cc.autocopy.tmp"), Path.Combine(elsewhere, "big"));
            Assert.Equal("begun 500 .B00001.00000000000000bb.autocopy.tmp", await Begin("DRPOOL1", "B00001", ".B00001.1111111111111111.autocopy.tmp"));

            // R14: the volser in another pool folder there (a file, or even a link to nowhere) is named, nothing created.
            Directory.CreateDirectory(Path.Combine(root, "OTHER"));
            await File.WriteAllTextAsync(Path.Combine(root, "OTHER", "C00001"), "another tape");
            Assert.Equal("other OTHER", await Begin("DRPOOL1", "C00001", ".C00001.2222222222222222.autocopy.tmp"));
            Assert.False(File.Exists(Path.Combine(root, "DRPOOL1", ".C00001.2222222222222222.autocopy.tmp")));
            File.CreateSymbolicLink(Path.Combine(root, "OTHER", "C00002"), Path.Combine(elsewhere, "nowhere"));
            Assert.Equal("other OTHER", await Begin("DRPOOL1", "C00002", ".C00002.2222222222222222.autocopy.tmp"));
            // A pool folder named to break the answer's line is named on one line, and the receiver stays in step.
            var hostile = Directory.CreateDirectory(Path.Combine(root, "X\nbegun 0 -")).FullName;
            await File.WriteAllTextAsync(Path.Combine(hostile, "C00003"), "another tape");
            Assert.Equal("other X\\nbegun 0 -", await Begin("DRPOOL1", "C00003", ".C00003.2222222222222222.autocopy.tmp"));
            Assert.Equal("begun 0 -", await Begin("DRPOOL1", "G00001", ".G00001.2222222222222222.autocopy.tmp"));

            // R15: a pool folder that is a link, or a file, is not written through; the place it points to stays empty.
            File.CreateSymbolicLink(Path.Combine(root, "LINKED"), elsewhere);
            await File.WriteAllTextAsync(Path.Combine(root, "AFILE"), "not a folder");
            Assert.Equal("pool link", await Begin("LINKED", "D00001", ".D00001.3333333333333333.autocopy.tmp"));
            Assert.Equal("pool other", await Begin("AFILE", "D00001", ".D00001.3333333333333333.autocopy.tmp"));
            Assert.Equal(["big"], Directory.GetFileSystemEntries(elsewhere).Select(f => Path.GetFileName(f)));

            // A temporary name held by a link is refused, and what it points to is left as it was.
            File.CreateSymbolicLink(Path.Combine(root, "DRPOOL1", ".E00001.4444444444444444.autocopy.tmp"), Path.Combine(elsewhere, "victim"));
            Assert.StartsWith("error ", await Begin("DRPOOL1", "E00001", ".E00001.4444444444444444.autocopy.tmp"));
            Assert.False(File.Exists(Path.Combine(elsewhere, "victim")));

            // A vault root that is not there: the target's own words, and the receiver is still in step.
            await input.WriteAsync(TargetWriter.Request("begin", Path.Combine(root, "missing"), "DRPOOL1", "F00001", ".F00001.5555555555555555.autocopy.tmp"));
            await input.FlushAsync();
            Assert.StartsWith("error ", await TargetWriter.ReadLine(output, CancellationToken.None));
            Assert.Equal("begun 0 -", await Begin("DRPOOL2", "F00001", ".F00001.5555555555555555.autocopy.tmp"));
        }
        finally
        {
            Directory.Delete(root, true);
            Directory.Delete(elsewhere, true);
        }
    }

    [Fact]
    public void The_answer_to_begin_is_read_in_its_exact_forms_and_anything_else_is_an_error()
    {
        Assert.Equal(new TargetWriter.Begun(null, null, null, 0), TargetWriter.ParseBegun("begun 0 -", "P"));
        Assert.Equal(new TargetWriter.Begun(null, null, ".A00001.0123456789abcdef.autocopy.tmp", 77),
            TargetWriter.ParseBegun("begun 77 .A00001.0123456789abcdef.autocopy.tmp", "P"));
        Assert.Equal(new TargetWriter.Begun("OTHER POOL", null, null, 0), TargetWriter.ParseBegun("other OTHER POOL", "P"));
        Assert.Equal("x?y", TargetWriter.ParseBegun("other x\u001by", "P").OtherPool); // printed as the target named it, tamed
        Assert.Equal("a symbolic link", TargetWriter.ParseBegun("pool link", "P").PoolFolderProblem);
        Assert.Equal("not a folder", TargetWriter.ParseBegun("pool other", "P").PoolFolderProblem);
        Assert.Contains("No space left", Assert.Throws<IOException>(() => TargetWriter.ParseBegun("error No space left", "P")).Message);
        foreach (var garbled in new[] { null, "", "begun", "begun 5 -", "begun -1 -", "begun 5 ../../etc/passwd", "begun 5 .A00001.x.autocopy.tmp",
                     "begun 5 .A00001.0123456789abcdef.autocopy.tmp extra", "other", "pool", "pool folder", "ready 3", new string('o', 600) })
            Assert.Throws<IOException>(() => TargetWriter.ParseBegun(garbled, "P"));
    }

    [Fact]
    public void A_header_says_new_for_a_whole_file_and_the_offset_for_a_range()
    {
        Assert.Equal("5 new /v/P/.T.x.autocopy.tmp\n", Encoding.UTF8.GetString(TargetWriter.Header(5, "/v/P/.T.x.autocopy.tmp")));
        Assert.Equal("5 1048576 /v/P/.T.x.autocopy.tmp\n", Encoding.UTF8.GetString(TargetWriter.Header(5, "/v/P/.T.x.autocopy.tmp", 1 << 20)));
    }

    private static Process Shell(string command) => Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command])
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
    })!;
}
