using System.Text;
using Vts.AutoCopy.SecureVts;
using Xunit;

namespace Vts.AutoCopy.Tests.SecureVts;

/// <summary>The SecureVTS header is read from a vault anyone with write access can fill: every malformed header is a
/// cause of its own, and nothing in it can make the reader throw.</summary>
public sealed class TapeHeaderTests
{
    private const string Kcv = "00112233445566778899aabbccddeeff";

    private static TapeHeader Parse(string text) => TapeHeader.Parse(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void A_header_names_its_key_server_key_and_check_value()
    {
        var header = Assert.IsType<TapeHeader.Encrypted>(Parse($"VTSENC01{{\"keyServer\":\"kms1\",\"keyId\":\"42\",\"kcv\":\"{Kcv}\"}}\nciphertext…"));
        Assert.Equal("kms1", header.KeyServer);
        Assert.Equal("42", header.KeyId);
        Assert.Equal(Kcv, Convert.ToHexStringLower(header.Kcv));
    }

    [Fact]
    public void What_the_simulator_writes_reads_back()
    {
        var written = TapeHeader.Write("kms-2.site_a", "7f3a", Convert.FromHexString(Kcv));
        Assert.Equal(new TapeHeader.Encrypted("kms-2.site_a", "7f3a", Convert.FromHexString(Kcv)).KeyId,
            Assert.IsType<TapeHeader.Encrypted>(TapeHeader.Parse([.. written, 1, 2, 3])).KeyId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("VTSENC0")]                          // shorter than the magic: a short plain tape
    [InlineData("VTSENC02{\"keyServer\":\"kms1\"}\n")]
    [InlineData("HDR1 plain tape label")]
    public void Anything_not_beginning_with_the_magic_is_a_plain_tape(string text) =>
        Assert.IsType<TapeHeader.Plain>(Parse(text));

    [Theory]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\"", "cut short")]
    [InlineData("VTSENC01", "cut short")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"1\",\"kcv\":\"" + Kcv + "\"\0}\n", "NUL")]
    [InlineData("VTSENC01{not json}\n", "not JSON")]
    [InlineData("VTSENC01[1,2]\n", "not a JSON object")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"kcv\":\"" + Kcv + "\"}\n", "lacks keyId")]
    [InlineData("VTSENC01{\"keyServer\":1,\"keyId\":\"1\",\"kcv\":\"" + Kcv + "\"}\n", "lacks keyServer")]
    [InlineData("VTSENC01{}\n", "lacks keyServer, keyId, kcv")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"1\",\"kcv\":\"xyz\"}\n", "not 32 lower-case hex")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"1\",\"kcv\":\"00112233445566778899AABBCCDDEEFF\"}\n", "not 32 lower-case hex")]
    [InlineData("VTSENC01{\"keyServer\":\"../../etc\",\"keyId\":\"1\",\"kcv\":\"" + Kcv + "\"}\n", "not a key server name")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"\",\"kcv\":\"" + Kcv + "\"}\n", "not a key identifier")]
    [InlineData("VTSENC01{\"keyServer\":\"kms1\",\"keyId\":\"a\\nb\",\"kcv\":\"" + Kcv + "\"}\n", "not a key identifier")]
    [InlineData("VTSENC01{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}\n", "not JSON")]
    public void A_malformed_header_says_what_is_wrong(string text, string cause) =>
        Assert.Contains(cause, Assert.IsType<TapeHeader.Malformed>(Parse(text)).Cause);

    [Fact]
    public void Strings_that_are_JSON_but_not_text_are_malformed_not_exceptions()
    {
        Assert.Contains("not text", Assert.IsType<TapeHeader.Malformed>(
            Parse($"VTSENC01{{\"keyServer\":\"\\udc00\",\"keyId\":\"1\",\"kcv\":\"{Kcv}\"}}\n")).Cause);
        byte[] raw = [.. "VTSENC01{\"keyServer\":\"k"u8, 0xFF, .. "\",\"keyId\":\"1\",\"kcv\":\"00112233445566778899aabbccddeeff\"}\n"u8];
        Assert.IsType<TapeHeader.Malformed>(TapeHeader.Parse(raw));
    }

    [Fact]
    public void A_header_without_an_end_of_line_within_4_KiB_is_refused()
    {
        var endless = Encoding.ASCII.GetBytes("VTSENC01{\"keyServer\":\"" + new string('k', 10_000));
        Assert.Contains("no end of line within 4096", Assert.IsType<TapeHeader.Malformed>(TapeHeader.Parse(endless)).Cause);
    }

    [Fact]
    public void Invalid_utf8_and_random_bytes_after_the_magic_never_throw()
    {
        var random = new Random(11);
        for (var i = 0; i < 5_000; i++)
        {
            var body = new byte[random.Next(0, 200)];
            random.NextBytes(body);
            if (i % 3 == 0 && body.Length > 0) body[^1] = (byte)'\n';
            var header = TapeHeader.Parse([.. "VTSENC01"u8, .. body]);
            Assert.True(header is TapeHeader.Malformed or TapeHeader.Encrypted, header.ToString());
        }
    }
}
