using System.Buffers.Binary;
using Vts.Kmip;
using Xunit;

namespace Vts.AutoCopy.Tests.SecureVts;

/// <summary>Reading a key server's answer off the connection: the header's length is checked against the limit before
/// the body is read, and an answer that ends early is a protocol fault.</summary>
public sealed class TtlvFrameTests
{
    /// <summary>A response message's header (tag 42007b, structure) announcing <paramref name="length"/> bytes of body.</summary>
    private static byte[] Header(uint length)
    {
        var header = new byte[] { 0x42, 0x00, 0x7b, 0x01, 0, 0, 0, 0 };
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), length);
        return header;
    }

    private static Task<byte[]> Read(Stream stream) => TtlvFrame.ReadAsync(stream, KmipClient.MaxResponse, CancellationToken.None);

    [Fact]
    public async Task One_message_is_read_whole_and_nothing_after_it()
    {
        var message = Ttlv.Encode(KmipMessages.Get("2"));
        using var stream = new MemoryStream([.. message, 0x42, 0x00]);
        Assert.Equal(message, await Read(stream));
        Assert.Equal(message.Length, stream.Position);
    }

    [Theory]
    [InlineData(KmipClient.MaxResponse - TtlvFrame.HeaderLength + 1)]
    [InlineData(uint.MaxValue)]
    public async Task An_answer_over_the_limit_is_refused_before_its_body_is_read(uint bodyLength)
    {
        using var stream = new MemoryStream([.. Header(bodyLength), .. new byte[1024]]);
        var refused = await Assert.ThrowsAsync<KmipProtocolException>(() => Read(stream));
        Assert.Contains($"over {KmipClient.MaxResponse}", refused.Message);
        Assert.Equal(TtlvFrame.HeaderLength, stream.Position);
    }

    [Fact]
    public async Task An_answer_exactly_at_the_limit_is_read()
    {
        var body = new byte[KmipClient.MaxResponse - TtlvFrame.HeaderLength];
        using var stream = new MemoryStream([.. Header((uint)body.Length), .. body]);
        Assert.Equal(KmipClient.MaxResponse, (await Read(stream)).Length);
    }

    [Fact]
    public async Task A_length_that_lies_is_a_protocol_fault_when_the_stream_ends_early()
    {
        using var stream = new MemoryStream([.. Header(0x110), .. new byte[100]]);
        var refused = await Assert.ThrowsAsync<KmipProtocolException>(() => Read(stream));
        Assert.Contains("ends after 108 of the 280 bytes", refused.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(7)]
    public async Task A_truncated_header_is_a_protocol_fault(int bytes)
    {
        using var stream = new MemoryStream(Header(16)[..bytes]);
        var refused = await Assert.ThrowsAsync<KmipProtocolException>(() => Read(stream));
        Assert.Contains($"ends after {bytes} bytes, within its 8-byte header", refused.Message);
    }
}
