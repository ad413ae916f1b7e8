using System.Collections.Frozen;

namespace Vts.Kmip;

/// <summary>The KMIP 1.x tags this client reads or writes (KMIP spec §9.1.3.1).</summary>
public static class KmipTag
{
    public const int Attribute = 0x420008;
    public const int AttributeName = 0x42000A;
    public const int AttributeValue = 0x42000B;
    public const int BatchCount = 0x42000D;
    public const int BatchItem = 0x42000F;
    public const int CryptographicAlgorithm = 0x420028;
    public const int CryptographicLength = 0x42002A;
    public const int KeyBlock = 0x420040;
    public const int KeyFormatType = 0x420042;
    public const int KeyMaterial = 0x420043;
    public const int KeyValue = 0x420045;
    public const int KeyWrappingData = 0x420046;
    public const int ObjectType = 0x420057;
    public const int Operation = 0x42005C;
    public const int ProtocolVersion = 0x420069;
    public const int ProtocolVersionMajor = 0x42006A;
    public const int ProtocolVersionMinor = 0x42006B;
    public const int RequestHeader = 0x420077;
    public const int RequestMessage = 0x420078;
    public const int RequestPayload = 0x420079;
    public const int ResponseHeader = 0x42007A;
    public const int ResponseMessage = 0x42007B;
    public const int ResponsePayload = 0x42007C;
    public const int ResultMessage = 0x42007D;
    public const int ResultReason = 0x42007E;
    public const int ResultStatus = 0x42007F;
    public const int SymmetricKey = 0x42008F;
    public const int TemplateAttribute = 0x420091;
    public const int UniqueIdentifier = 0x420094;

    public static readonly FrozenDictionary<int, string> Names = typeof(KmipTag).GetFields()
        .Where(f => f.IsLiteral && f.FieldType == typeof(int))
        .ToFrozenDictionary(f => (int)f.GetRawConstantValue()!, f => f.Name);
}

/// <summary>KMIP operations (§9.1.3.2.27).</summary>
public enum KmipOperation
{
    Create = 0x01,
    Get = 0x0A,
    Activate = 0x12,
}

/// <summary>KMIP result reasons (§9.1.3.2.29), as far as we tell them apart.</summary>
public enum KmipResultReason
{
    ItemNotFound = 0x01,
    ResponseTooLarge = 0x02,
    AuthenticationNotSuccessful = 0x03,
    InvalidMessage = 0x04,
    OperationNotSupported = 0x05,
    PermissionDenied = 0x0C,
    GeneralFailure = 0x100,
}

/// <summary>KMIP constants we send or check.</summary>
public static class KmipValues
{
    public const int ResultSuccess = 0;
    public const int ObjectTypeSymmetricKey = 2;
    public const int KeyFormatRaw = 1;
    public const int AlgorithmAes = 3;
    public const int UsageEncryptDecrypt = 0x4 | 0x8;
}
