namespace Vts.Kmip;

/// <summary>One TTLV message off a stream: its 8-byte header (tag, type, length), then as many bytes as the header's
/// length says. The length is the other side's word: it is checked against a limit before anything is allocated for
/// it, and a stream that ends before the header or the body is whole is a protocol fault, not a hang or a short read.</summary>
public static class TtlvFrame
{
    public const int HeaderLength = 8;

    /// <summary>The whole message, its header included.</summary>
    /// <exception cref="KmipProtocolException">the message is longer than <paramref name="maxLength"/>, or the stream
    /// ends before the header or the body is whole.</exception>
    public static async Task<byte[]> ReadAsync(Stream stream, int maxLength, CancellationToken cancellation)
    {
        var header = new byte[HeaderLength];
        var got = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellation);
        if (got < header.Length) throw new KmipProtocolException($"the answer ends after {got} bytes, within its {HeaderLength}-byte header");
        var length = Ttlv.MessageLength(header);
        if (length > maxLength) throw new KmipProtocolException($"the answer is {length} bytes long, over {maxLength}");
        var message = new byte[length];
        header.CopyTo(message, 0);
        var body = message.AsMemory(HeaderLength);
        got = await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellation);
        if (got < body.Length)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(message);
            throw new KmipProtocolException($"the answer ends after {HeaderLength + got} of the {length} bytes its header announces");
        }
        return message;
    }
}
