using System.Buffers.Binary;
using System.Text;

namespace Vts.Kmip;

/// <summary>KMIP 1.x item types (KMIP spec §9.1.1.2).</summary>
public enum TtlvType : byte
{
    Structure = 0x01,
    Integer = 0x02,
    LongInteger = 0x03,
    BigInteger = 0x04,
    Enumeration = 0x05,
    Boolean = 0x06,
    TextString = 0x07,
    ByteString = 0x08,
    DateTime = 0x09,
    Interval = 0x0A,
}

/// <summary>A key server's answer we cannot read: malformed, oversized, or not what the request asked for.</summary>
public sealed class KmipProtocolException(string message) : Exception(message);

/// <summary>One KMIP item: tag, type, value. A structure's value is its items; integers, enumerations and intervals
/// are <see cref="int"/>; long integers and date-times <see cref="long"/>; text <see cref="string"/>; bytes and big
/// integers <see cref="byte"/>[]; booleans <see cref="bool"/>.</summary>
public sealed record TtlvItem(int Tag, TtlvType Type, object Value)
{
    public static TtlvItem Structure(int tag, params TtlvItem[] items) => new(tag, TtlvType.Structure, (IReadOnlyList<TtlvItem>)items);

    public static TtlvItem Integer(int tag, int value) => new(tag, TtlvType.Integer, value);

    public static TtlvItem Enumeration(int tag, int value) => new(tag, TtlvType.Enumeration, value);

    public static TtlvItem Text(int tag, string value) => new(tag, TtlvType.TextString, value);

    public static TtlvItem Bytes(int tag, byte[] value) => new(tag, TtlvType.ByteString, value);

    public IReadOnlyList<TtlvItem> Items => Value as IReadOnlyList<TtlvItem>
        ?? throw new KmipProtocolException($"{Ttlv.Name(Tag)} is {Type}, not a structure");

    /// <summary>The first item of this structure with <paramref name="tag"/>, if any.</summary>
    public TtlvItem? Find(int tag) => Items.FirstOrDefault(i => i.Tag == tag);

    public TtlvItem Required(int tag) => Find(tag) ?? throw new KmipProtocolException($"{Ttlv.Name(Tag)} has no {Ttlv.Name(tag)}");

    public int AsInt() => Value is int value ? value : throw new KmipProtocolException($"{Ttlv.Name(Tag)} is {Type}, not an integer or enumeration");

    public string AsText() => Value as string ?? throw new KmipProtocolException($"{Ttlv.Name(Tag)} is {Type}, not text");

    public byte[] AsBytes() => Value as byte[] ?? throw new KmipProtocolException($"{Ttlv.Name(Tag)} is {Type}, not bytes");
}

/// <summary>KMIP's TTLV encoding (KMIP 1.x spec §9.1): a 3-byte tag, a type byte, a 4-byte big-endian length, then
/// the value padded with zeros to a multiple of 8 bytes. No KMIP client is served from our package registry, so this
/// is ours: small, and strict in what it reads, since the bytes come from the network.</summary>
public static class Ttlv
{
    /// <summary>Structures within structures: a Get response needs 6; more is a hostile or broken peer.</summary>
    public const int MaxDepth = 16;

    public static byte[] Encode(TtlvItem item)
    {
        var buffer = new byte[EncodedLength(item)];
        Write(item, buffer);
        return buffer;
    }

    /// <summary>One whole item from <paramref name="message"/>, which must hold exactly that item.</summary>
    /// <exception cref="KmipProtocolException">malformed: a length that runs past the message or disagrees with the
    /// type, bytes left over, non-zero padding, an unknown type, text that is not UTF-8, or structures nested too deep.</exception>
    public static TtlvItem Decode(ReadOnlySpan<byte> message)
    {
        var item = Read(message, depth: 0, out var used);
        if (used != message.Length) throw new KmipProtocolException($"{message.Length - used} bytes after the message");
        return item;
    }

    /// <summary>The length of the item that <paramref name="header"/> (its first 8 bytes) begins, header included.</summary>
    public static long MessageLength(ReadOnlySpan<byte> header) => 8L + BinaryPrimitives.ReadUInt32BigEndian(header[4..8]);

    private static int EncodedLength(TtlvItem item) => 8 + Padded(ValueLength(item));

    private static int ValueLength(TtlvItem item) => item.Type switch
    {
        TtlvType.Structure => item.Items.Sum(EncodedLength),
        TtlvType.Integer or TtlvType.Enumeration or TtlvType.Interval => 4,
        TtlvType.LongInteger or TtlvType.DateTime or TtlvType.Boolean => 8,
        TtlvType.TextString => Encoding.UTF8.GetByteCount(item.AsText()),
        TtlvType.ByteString or TtlvType.BigInteger => item.AsBytes().Length,
        _ => throw new ArgumentOutOfRangeException(nameof(item), item.Type, "unknown TTLV type"),
    };

    private static int Padded(int length) => (length + 7) & ~7;

    private static int Write(TtlvItem item, Span<byte> into)
    {
        var length = ValueLength(item);
        into[0] = (byte)(item.Tag >> 16);
        into[1] = (byte)(item.Tag >> 8);
        into[2] = (byte)item.Tag;
        into[3] = (byte)item.Type;
        BinaryPrimitives.WriteUInt32BigEndian(into[4..], (uint)length);
        var value = into[8..];
        switch (item.Type)
        {
            case TtlvType.Structure:
                var at = 0;
                foreach (var child in item.Items) at += Write(child, value[at..]);
                break;
            case TtlvType.Integer or TtlvType.Enumeration or TtlvType.Interval:
                BinaryPrimitives.WriteInt32BigEndian(value, (int)item.Value);
                break;
            case TtlvType.LongInteger or TtlvType.DateTime:
                BinaryPrimitives.WriteInt64BigEndian(value, (long)item.Value);
                break;
            case TtlvType.Boolean:
                BinaryPrimitives.WriteInt64BigEndian(value, (bool)item.Value ? 1 : 0);
                break;
            case TtlvType.TextString:
                Encoding.UTF8.GetBytes(item.AsText(), value);
                break;
            default:
                item.AsBytes().CopyTo(value);
                break;
        }
        // The buffer is fresh (zeroed), so the padding is already zero.
        return 8 + Padded(length);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static TtlvItem Read(ReadOnlySpan<byte> bytes, int depth, out int used)
    {
        if (bytes.Length < 8) throw new KmipProtocolException($"an item needs 8 bytes of header, {bytes.Length} left");
        var tag = bytes[0] << 16 | bytes[1] << 8 | bytes[2];
        var type = (TtlvType)bytes[3];
        var length = BinaryPrimitives.ReadUInt32BigEndian(bytes[4..8]);
        if (length > bytes.Length - 8)
            throw new KmipProtocolException($"{Name(tag)} says {length} bytes, only {bytes.Length - 8} follow");
        var padded = type == TtlvType.Structure ? (int)length : Padded((int)length);
        if (padded > bytes.Length - 8)
            throw new KmipProtocolException($"{Name(tag)}'s padding runs past the message");
        var value = bytes.Slice(8, (int)length);
        if (bytes.Slice(8 + (int)length, padded - (int)length).IndexOfAnyExcept((byte)0) >= 0)
            throw new KmipProtocolException($"{Name(tag)}'s padding is not zero");
        used = 8 + padded;
        return type switch
        {
            TtlvType.Structure => new TtlvItem(tag, type, ReadItems(tag, value, depth)),
            TtlvType.Integer or TtlvType.Enumeration or TtlvType.Interval =>
                new TtlvItem(tag, type, BinaryPrimitives.ReadInt32BigEndian(Fixed(tag, type, value, 4))),
            TtlvType.LongInteger or TtlvType.DateTime =>
                new TtlvItem(tag, type, BinaryPrimitives.ReadInt64BigEndian(Fixed(tag, type, value, 8))),
            TtlvType.Boolean => BinaryPrimitives.ReadUInt64BigEndian(Fixed(tag, type, value, 8)) switch
            {
                0 => new TtlvItem(tag, type, false),
                1 => new TtlvItem(tag, type, true),
                var other => throw new KmipProtocolException($"{Name(tag)} is a boolean of value {other}"),
            },
            TtlvType.TextString => new TtlvItem(tag, type, Utf8(tag, value)),
            TtlvType.ByteString or TtlvType.BigInteger => new TtlvItem(tag, type, value.ToArray()),
            _ => throw new KmipProtocolException($"{Name(tag)} has unknown type 0x{(byte)type:X2}"),
        };
    }

    private static List<TtlvItem> ReadItems(int tag, ReadOnlySpan<byte> value, int depth)
    {
        if (depth >= MaxDepth) throw new KmipProtocolException($"structures nested deeper than {MaxDepth} at {Name(tag)}");
        var items = new List<TtlvItem>();
        while (!value.IsEmpty)
        {
            items.Add(Read(value, depth + 1, out var used));
            value = value[used..];
        }
        return items;
    }

    private static ReadOnlySpan<byte> Fixed(int tag, TtlvType type, ReadOnlySpan<byte> value, int length) =>
        value.Length == length ? value : throw new KmipProtocolException($"{Name(tag)} is {type} of {value.Length} bytes, not {length}");

    private static string Utf8(int tag, ReadOnlySpan<byte> value)
    {
        try
        {
            return StrictUtf8.GetString(value);
        }
        catch (DecoderFallbackException)
        {
            throw new KmipProtocolException($"{Name(tag)} is not UTF-8 text");
        }
    }

    /// <summary>A tag as KMIP names it where we know it, else its number: for messages about a peer's bytes.</summary>
    public static string Name(int tag) => KmipTag.Names.TryGetValue(tag, out var name) ? name : $"tag 0x{tag:X6}";
}
