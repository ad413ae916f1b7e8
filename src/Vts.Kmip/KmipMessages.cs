using static Vts.Kmip.KmipTag;

namespace Vts.Kmip;

/// <summary>The key server answered, and said no: its result reason and message.</summary>
public sealed class KmipOperationException(KmipResultReason? reason, string serverMessage)
    : Exception($"{(reason is { } r ? Enum.IsDefined(r) ? r.ToString() : $"reason 0x{(int)r:X}" : "no reason")}: {serverMessage}")
{
    public KmipResultReason? Reason { get; } = reason;
}

/// <summary>KMIP 1.2 requests of one batch item, and what we read from their responses.</summary>
public static class KmipMessages
{
    /// <summary>PyKMIP and most servers speak 1.2; it has every operation we use.</summary>
    private const int Major = 1, Minor = 2;

    public static TtlvItem Request(KmipOperation operation, params TtlvItem[] payload) =>
        TtlvItem.Structure(RequestMessage,
            TtlvItem.Structure(RequestHeader,
                TtlvItem.Structure(ProtocolVersion, TtlvItem.Integer(ProtocolVersionMajor, Major), TtlvItem.Integer(ProtocolVersionMinor, Minor)),
                TtlvItem.Integer(BatchCount, 1)),
            TtlvItem.Structure(BatchItem,
                TtlvItem.Enumeration(Operation, (int)operation),
                TtlvItem.Structure(RequestPayload, payload)));

    public static TtlvItem Get(string uniqueIdentifier) => Request(KmipOperation.Get, TtlvItem.Text(UniqueIdentifier, uniqueIdentifier));

    public static TtlvItem Activate(string uniqueIdentifier) => Request(KmipOperation.Activate, TtlvItem.Text(UniqueIdentifier, uniqueIdentifier));

    /// <summary>A new AES-256 key for encrypting and decrypting (the simulator's and the tests' keys).</summary>
    public static TtlvItem CreateAes256() => Request(KmipOperation.Create,
        TtlvItem.Enumeration(ObjectType, KmipValues.ObjectTypeSymmetricKey),
        TtlvItem.Structure(TemplateAttribute,
            Attribute("Cryptographic Algorithm", TtlvItem.Enumeration(AttributeValue, KmipValues.AlgorithmAes)),
            Attribute("Cryptographic Length", TtlvItem.Integer(AttributeValue, 256)),
            Attribute("Cryptographic Usage Mask", TtlvItem.Integer(AttributeValue, KmipValues.UsageEncryptDecrypt))));

    private static TtlvItem Attribute(string name, TtlvItem value) =>
        TtlvItem.Structure(KmipTag.Attribute, TtlvItem.Text(AttributeName, name), value);

    /// <summary>The payload of a response to <paramref name="operation"/> (empty when the server sent none).</summary>
    /// <exception cref="KmipOperationException">the server refused: its reason and message.</exception>
    /// <exception cref="KmipProtocolException">not a response of one batch item to that operation.</exception>
    public static TtlvItem Payload(TtlvItem response, KmipOperation operation)
    {
        if (response.Tag != ResponseMessage) throw new KmipProtocolException($"expected a ResponseMessage, got {Ttlv.Name(response.Tag)}");
        response.Required(ResponseHeader);
        var items = response.Items.Where(i => i.Tag == BatchItem).ToList();
        if (items.Count != 1) throw new KmipProtocolException($"expected one batch item, got {items.Count}");
        var item = items[0];
        // A server that could not read or authenticate the request answers without the operation (PyKMIP does).
        if (item.Find(Operation) is { } answered && answered.AsInt() != (int)operation)
            throw new KmipProtocolException($"asked for {operation}, answered operation 0x{answered.AsInt():X2}");
        var status = item.Required(ResultStatus).AsInt();
        if (status != KmipValues.ResultSuccess)
            throw new KmipOperationException((KmipResultReason?)item.Find(ResultReason)?.AsInt(),
                Clip(item.Find(ResultMessage)?.AsText() ?? $"result status {status}"));
        return item.Find(ResponsePayload) ?? TtlvItem.Structure(ResponsePayload);
    }

    /// <summary>The raw bytes of a symmetric key from a Get response's payload.</summary>
    /// <exception cref="KmipProtocolException">not a symmetric key in raw form (wrapped keys and other formats are not read).</exception>
    public static byte[] SymmetricKeyMaterial(TtlvItem payload)
    {
        var type = payload.Required(ObjectType).AsInt();
        if (type != KmipValues.ObjectTypeSymmetricKey) throw new KmipProtocolException($"the object is of type {type}, not a symmetric key");
        var block = payload.Required(SymmetricKey).Required(KeyBlock);
        if (block.Find(KeyWrappingData) is not null) throw new KmipProtocolException("the key is wrapped; only unwrapped keys are read");
        var format = block.Required(KeyFormatType).AsInt();
        if (format != KmipValues.KeyFormatRaw) throw new KmipProtocolException($"the key is in format {format}, not raw (1)");
        return block.Required(KeyValue).Required(KeyMaterial).AsBytes();
    }

    public static string UniqueIdentifierOf(TtlvItem payload) => payload.Required(UniqueIdentifier).AsText();

    /// <summary>A server's message as we repeat it: printable, and not longer than a log line can take.</summary>
    private static string Clip(string text)
    {
        var printable = new string(text.Select(c => char.IsControl(c) ? '?' : c).Take(200).ToArray());
        return text.Length > 200 ? printable + "…" : printable;
    }
}
