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
        using var shell = Shell(TargetWriter.ReceiverCommand(TargetWriter.Python));
        var output = shell.StandardOutput.BaseStream;
        var input = shell.StandardInput.BaseStream;
        Assert.Equal(TargetWriter.Ready, await TargetWriter.ReadLine(output, CancellationToken.None));
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

    private static Process Shell(string command) => Process.Start(new ProcessStartInfo("/bin/sh", ["-c", command])
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
    })!;
}
