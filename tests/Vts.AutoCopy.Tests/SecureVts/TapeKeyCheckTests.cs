using System.Collections.Immutable;
using System.Text;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.SecureVts;
using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.SecureVts;

/// <summary>R11's order where no key server is needed: SecureVTS enabled is checked before anything else of the header.</summary>
public sealed class TapeKeyCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vts-keycheck-").FullName;

    private static readonly SecureVtsSettings EnabledWithoutServers = new(true, ImmutableDictionary<string, KeyServerSettings>.Empty);

    [Theory]
    [InlineData("VTSENC01")]                                  // the magic and nothing else
    [InlineData("VTSENC01{\"keyServer\":\"kms1\"}\n")]         // fields missing
    [InlineData("VTSENC01 not json at all\n")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"1\",\"kcv\":\"00112233445566778899aabbccddeeff\"}\n")]
    public async Task A_tape_beginning_with_the_magic_on_a_node_with_SecureVTS_off_is_refused_as_disabled_whatever_follows(string tape)
    {
        var refusal = await Check(TapeKeyCheck.Off, Encoding.ASCII.GetBytes(tape));
        Assert.Equal(FailureKind.SecureVtsDisabled, refusal?.Kind);
        Assert.Contains("vts.securevts.enabled = on", refusal!.Cause);
    }

    [Fact]
    public async Task With_SecureVTS_on_a_header_that_cannot_be_read_is_refused_as_malformed_before_its_key_server_is_looked_for()
    {
        var refusal = await Check(new TapeKeyCheck(EnabledWithoutServers, TimeProvider.System), "VTSENC01{\"keyServer\":\"kms1\"}\n"u8.ToArray());
        Assert.Equal(FailureKind.SecureVtsHeaderMalformed, refusal?.Kind);
        Assert.Contains("lacks keyId, kcv", refusal!.Cause);
    }

    [Fact]
    public async Task A_plain_tape_is_let_through_with_SecureVTS_off() =>
        Assert.Null(await Check(TapeKeyCheck.Off, "VTSENC0"u8.ToArray()));

    private async Task<KeyCheckRefusal?> Check(TapeKeyCheck check, byte[] tape)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, tape);
        await using var file = File.OpenRead(path);
        return await check.CheckAsync(file.SafeFileHandle, CancellationToken.None);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
