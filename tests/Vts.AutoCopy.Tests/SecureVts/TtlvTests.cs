using Vts.Kmip;
using Xunit;

namespace Vts.AutoCopy.Tests.SecureVts;

/// <summary>The KMIP codec against bytes a real key server (PyKMIP 0.10, Debian's python3-pykmip) sent and accepted,
/// and against what a broken or hostile one might send.</summary>
public sealed class TtlvTests
{
    // A Get of unique identifier "2" as PyKMIP's own client encodes it (KMIP 1.2), byte for byte.
    private const string GetRequest =
        "42007801000000704200770100000038420069010000002042006a0200000004000000010000000042006b0200000004000000020000000042000d0200000004000000010000000042000f010000002842005c05000000040000000a00000000420079010000001042009407000000013200000000000000";

    private const string GetResponse =
        "42007b010000011042007a0100000048420069010000002042006a0200000004000000010000000042006b020000000400000002000000004200920900000008000000006b0dd92e42000d0200000004000000010000000042000f01000000b842005c05000000040000000a0000000042007f0500000004000000000000000042007c0100000090420057050000000400000002000000004200940700000001320000000000000042008f010000006842004001000000604200420500000004000000010000000042004501000000284200430800000020e7313c4417678531c5b2aabcecfd139101d7c104bd5e329296117daa02b637dd4200280500000004000000030000000042002a02000000040000010000000000";

    private const string NotFoundResponse =
        "42007b01000000b042007a0100000048420069010000002042006a0200000004000000010000000042006b020000000400000002000000004200920900000008000000006b0dd92f42000d0200000004000000010000000042000f010000005842005c05000000040000000a0000000042007f0500000004000000010000000042007e0500000004000000010000000042007d070000001e436f756c64206e6f74206c6f63617465206f626a6563743a2039393939390000";

    // What PyKMIP answers a client certificate without the clientAuth usage: no operation in the batch item.
    private const string AuthenticationFailedResponse =
        "42007b01000000d042007a0100000048420069010000002042006a0200000004000000010000000042006b020000000400000000000000004200920900000008000000006b0dd93142000d0200000004000000010000000042000f010000007842007f0500000004000000010000000042007e0500000004000000030000000042007d070000004d4572726f7220766572696679696e672074686520636c69656e742063657274696669636174652e2053656520736572766572206c6f677320666f72206d6f726520696e666f726d6174696f6e2e000000";

    [Fact]
    public void A_get_request_is_encoded_as_a_real_server_reads_it()
    {
        Assert.Equal(GetRequest, Convert.ToHexStringLower(Ttlv.Encode(KmipMessages.Get("2"))));
        Assert.Equal(KmipMessages.Get("2"), Ttlv.Decode(Convert.FromHexString(GetRequest)), ItemComparer.Instance);
    }

    [Fact]
    public void A_real_get_response_yields_the_key_material()
    {
        var payload = KmipMessages.Payload(Ttlv.Decode(Convert.FromHexString(GetResponse)), KmipOperation.Get);
        Assert.Equal("e7313c4417678531c5b2aabcecfd139101d7c104bd5e329296117daa02b637dd", Convert.ToHexStringLower(KmipMessages.SymmetricKeyMaterial(payload)));
        Assert.Equal("2", KmipMessages.UniqueIdentifierOf(payload));
    }

    [Fact]
    public void A_refusal_carries_the_servers_reason_and_message()
    {
        var notFound = Assert.Throws<KmipOperationException>(() =>
            KmipMessages.Payload(Ttlv.Decode(Convert.FromHexString(NotFoundResponse)), KmipOperation.Get));
        Assert.Equal(KmipResultReason.ItemNotFound, notFound.Reason);
        Assert.Contains("Could not locate object: 99999", notFound.Message);

        var unauthenticated = Assert.Throws<KmipOperationException>(() =>
            KmipMessages.Payload(Ttlv.Decode(Convert.FromHexString(AuthenticationFailedResponse)), KmipOperation.Get));
        Assert.Equal(KmipResultReason.AuthenticationNotSuccessful, unauthenticated.Reason);
    }

    [Fact]
    public void An_answer_to_another_operation_is_not_taken()
    {
        var response = Ttlv.Decode(Convert.FromHexString(GetResponse));
        Assert.Throws<KmipProtocolException>(() => KmipMessages.Payload(response, KmipOperation.Activate));
        Assert.Throws<KmipProtocolException>(() => KmipMessages.Payload(Ttlv.Decode(Convert.FromHexString(GetRequest)), KmipOperation.Get));
    }

    [Fact]
    public void Every_type_round_trips()
    {
        var item = TtlvItem.Structure(0x420001,
            TtlvItem.Integer(0x420002, -5),
            new TtlvItem(0x420003, TtlvType.LongInteger, long.MinValue),
            new TtlvItem(0x420004, TtlvType.BigInteger, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            TtlvItem.Enumeration(0x420005, 0x0A),
            new TtlvItem(0x420006, TtlvType.Boolean, true),
            TtlvItem.Text(0x420007, "clé €"),
            TtlvItem.Bytes(0x420008, new byte[13]),
            new TtlvItem(0x420009, TtlvType.DateTime, 1_800_000_000L),
            new TtlvItem(0x42000A, TtlvType.Interval, 3600),
            TtlvItem.Structure(0x42000B),
            TtlvItem.Text(0x42000C, ""));
        var bytes = Ttlv.Encode(item);
        Assert.Equal(0, bytes.Length % 8);
        Assert.Equal(item, Ttlv.Decode(bytes), ItemComparer.Instance);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "42007b01000001", "8 bytes of header" },                                        // cut inside the header
        { "42007b0100000110" + "42007a01000000", "only" },                                // a length that lies
        { "4200940700000001" + "32", "padding runs past" },                               // text whose padding is missing
        { "4200940700000001" + "3200000000000001", "padding is not zero" },
        { "42000d0200000008" + "0000000100000000", "not 4" },                             // an integer of 8 bytes
        { "4200060600000008" + "0000000000000002", "boolean of value 2" },
        { "42009407000000023fff000000000000", "not UTF-8" },
        { "4200010b00000000", "unknown type" },
        { "42000d0200000004" + "0000000100000000" + "00", "after the message" },
        { "42000d02ffffffff" + "00000001", "only" },                                      // a length of 4 GiB
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_bytes_are_refused_with_their_cause(string hex, string cause) =>
        Assert.Contains(cause, Assert.Throws<KmipProtocolException>(() => Ttlv.Decode(Convert.FromHexString(hex))).Message);

    [Fact]
    public void Structures_nested_past_the_limit_are_refused()
    {
        var item = TtlvItem.Structure(0x420001);
        for (var i = 0; i < Ttlv.MaxDepth + 1; i++) item = TtlvItem.Structure(0x420001, item);
        Assert.Contains("deeper", Assert.Throws<KmipProtocolException>(() => Ttlv.Decode(Ttlv.Encode(item))).Message);
    }

    /// <summary>Whatever a peer sends, the codec answers an item or its own exception, never another.</summary>
    [Fact]
    public void Random_and_mutilated_bytes_never_escape_as_anything_but_a_protocol_error()
    {
        var random = new Random(7400);
        var real = Convert.FromHexString(GetResponse);
        for (var round = 0; round < 20_000; round++)
        {
            byte[] bytes;
            if (round % 2 == 0)
            {
                bytes = (byte[])real.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                bytes = bytes[..random.Next(bytes.Length + 1)];
            }
            else
            {
                bytes = new byte[random.Next(64)];
                random.NextBytes(bytes);
            }
            try
            {
                var item = Ttlv.Decode(bytes);
                try { KmipMessages.SymmetricKeyMaterial(KmipMessages.Payload(item, KmipOperation.Get)); }
                catch (Exception e) when (e is KmipProtocolException or KmipOperationException) { }
            }
            catch (KmipProtocolException) { }
        }
    }

    private sealed class ItemComparer : IEqualityComparer<TtlvItem>
    {
        public static readonly ItemComparer Instance = new();

        public bool Equals(TtlvItem? x, TtlvItem? y) =>
            x is not null && y is not null && x.Tag == y.Tag && x.Type == y.Type && (x.Value, y.Value) switch
            {
                (IReadOnlyList<TtlvItem> a, IReadOnlyList<TtlvItem> b) => a.Count == b.Count && a.Zip(b).All(p => Equals(p.Item1, p.Item2)),
                (byte[] a, byte[] b) => a.SequenceEqual(b),
                var (a, b) => a.Equals(b),
            };

        public int GetHashCode(TtlvItem obj) => obj.Tag;
    }
}
