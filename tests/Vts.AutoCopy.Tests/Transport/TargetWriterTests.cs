using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.Transport;

/// <summary>The command a large tape streams into at the target, run here by a real shell, and the parser of what it
/// reports: a report is trusted only in its one exact form.</summary>
public sealed class TargetWriterTests
{
    private const string Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Fact]
    public void A_report_of_a_hash_and_a_size_is_read()
    {
        Assert.Equal(new TargetWriter.Report.Written(Hex, 1234), TargetWriter.Parse($"sha256 {Hex} 1234\n", 0));
    }

    [Fact]
    public void Cat_reports_nothing_and_leaves_the_file_to_be_hashed()
    {
        Assert.Equal(new TargetWriter.Report.Written(null, null), TargetWriter.Parse("", 0));
    }

    [Fact]
    public void A_target_that_could_not_write_is_quoted_without_its_control_characters()
    {
        var refused = Assert.IsType<TargetWriter.Report.Refused>(TargetWriter.Parse("error No space\u001b[2J left\n", 3));
        Assert.Equal("No space?[2J left", refused.Reason);
    }

    [Theory]
    [InlineData("sha256 " + Hex + " 1234\n", 1)]                    // a good line, but the receiver failed
    [InlineData("sha256 " + Hex + " 1234\n", null)]                 // no exit status at all
    [InlineData("error disk full\n", 0)]                            // a refusal must come with its own status
    [InlineData("sha256 " + Hex + "\n", 0)]                         // no size
    [InlineData("sha256 " + Hex + " -5\n", 0)]                      // a negative size
    [InlineData("sha256 " + Hex + " 99999999999999999999\n", 0)]    // a size past long
    [InlineData("sha256 " + Hex + " 12 extra\n", 0)]
    [InlineData("sha256 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08 1\n", 0)] // not our case
    [InlineData("sha256 9f86d081 1\n", 0)]                          // a short hash
    [InlineData("sha256 " + Hex + " 1\nsha256 " + Hex + " 1\n", 0)] // two reports
    [InlineData("SHA256 " + Hex + " 1\n", 0)]
    [InlineData("\0\0\0\n", 0)]
    public void Any_other_report_is_garbled(string output, int? exitStatus)
    {
        Assert.IsType<TargetWriter.Report.Garbled>(TargetWriter.Parse(output, exitStatus));
    }

    [Fact]
    public async Task An_oversized_report_is_cut_at_its_limit_and_then_refused()
    {
        var flood = new MemoryStream(Encoding.ASCII.GetBytes($"sha256 {Hex} 1 " + new string('x', 10_000_000)));
        var read = await TargetWriter.ReadReport(flood, CancellationToken.None);

        Assert.Equal(TargetWriter.MaxReport + 1, read.Length);
        Assert.IsType<TargetWriter.Report.Garbled>(TargetWriter.Parse(read, 0));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("it's")]
    [InlineData("$(touch pwned) `x` \"q\" ; & | *")]
    public async Task A_quoted_path_reaches_the_shell_as_one_word(string value)
    {
        var (output, _) = await Shell($"printf %s {TargetWriter.ShellQuote(value)}", Stream.Null);
        Assert.Equal(value, output);
    }

    public static TheoryData<long, string> Sizes => new()
    {
        { 0, "/tmp" },
        { 1, "/tmp" },
        { (3 << 20) + 4096, "/tmp" },   // whole blocks, not whole buffers
        { (2 << 20) + 12_345, "/tmp" }, // a short last block: written without O_DIRECT
        { (2 << 20) + 12_345, "/dev/shm" },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task The_receiver_writes_the_bytes_it_was_sent_and_reports_their_SHA256_and_size(long size, string directory)
    {
        var bytes = new byte[size];
        new Random((int)size).NextBytes(bytes);
        var path = Path.Combine(directory, $"vts-receiver-{Guid.NewGuid():N}");
        try
        {
            var (output, status) = await Shell(TargetWriter.Command(path, TargetWriter.Python), new MemoryStream(bytes));

            Assert.Equal(new TargetWriter.Report.Written(Convert.ToHexStringLower(SHA256.HashData(bytes)), size),
                TargetWriter.Parse(output, status));
            Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task The_receiver_says_why_it_cannot_write_with_its_own_exit_status()
    {
        var (output, status) = await Shell(TargetWriter.Command("/proc/no-such-dir/tape", TargetWriter.Python), new MemoryStream([1, 2, 3]));
        var refused = Assert.IsType<TargetWriter.Report.Refused>(TargetWriter.Parse(output, status));
        Assert.Contains("No such file or directory", refused.Reason);
    }

    private static async Task<(string Output, int Status)> Shell(string command, Stream input)
    {
        var info = new ProcessStartInfo("/bin/sh", ["-c", command])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await input.CopyToAsync(process.StandardInput.BaseStream);
        process.StandardInput.Close();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode is 0 or TargetWriter.WriteRefused, await error);
        return (await output, process.ExitCode);
    }
}
