using Vts.AutoCopy.Transport;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.EventLog;

/// <summary>VTS event-log severities; the first digit of every message id.</summary>
public enum Severity
{
    Info = 2,
    Warning = 4,
    Error = 6,
    Critical = 8,
}

/// <summary>One operator-facing outcome. <see cref="MessageId"/> is one of <see cref="MessageIds"/>.</summary>
/// <param name="Key">set for an entry that must appear exactly once: a repeat with the same key is not logged again,
/// and the sender is answered with <see cref="EntryLogged"/> so it can stop repeating it.</param>
public sealed record EventLogEntry(
    DateTimeOffset Time,
    Severity Severity,
    int MessageId,
    string Node,
    string? Pool,
    string? Volser,
    string Text,
    string? Key = null) : IClusterMessage;

public sealed record EntryLogged(string Key) : IClusterMessage;

/// <summary>Six digits: severity, subsystem (24 data replication, 20 EMS), event number. Listed in README.</summary>
public static class MessageIds
{
    public const int CopyCompleted = 224001;
    public const int DismountWithoutMount = 224002;
    public const int AttemptFailed = 424003;
    public const int CopyFailed = 624004;
    public const int TargetNotTrusted = 824005;
    public const int CopyCancelledByMount = 224006;
    public const int CopyRetryRequested = 224007;
    public const int BandwidthThrottled = 224008;
    public const int NotARegularFile = 824009;
    public const int SecureVtsDisabled = 424010;
    public const int KeyServerNotConfigured = 424011;
    public const int KeyServerUnreachable = 424012;
    public const int KeyNotFound = 424013;
    public const int KeyCheckFailed = 424014;
    public const int SecureVtsHeaderMalformed = 424015;
    public const int LicenseInstalled = 224016;
    public const int LicenseEvaluation = 224017;
    public const int LicenseExpiring = 424018;
    public const int CopiesHeld = 424019;
    public const int LicenseRefused = 424020;
    public const int CopyRequestedByReconcile = 224021;
    public const int AuditFoundDrift = 424022;
    public const int AuditFailed = 424023;
    public const int ReconcileEnded = 224024;

    /// <summary>R11's causes, each its own id in place of <see cref="AttemptFailed"/>; null for any other failure.</summary>
    public static int? ForSecureVts(FailureKind kind) => kind switch
    {
        FailureKind.SecureVtsDisabled => SecureVtsDisabled,
        FailureKind.KeyServerNotConfigured => KeyServerNotConfigured,
        FailureKind.KeyServerUnreachable => KeyServerUnreachable,
        FailureKind.KeyNotFound => KeyNotFound,
        FailureKind.KeyCheckFailed => KeyCheckFailed,
        FailureKind.SecureVtsHeaderMalformed => SecureVtsHeaderMalformed,
        _ => null,
    };
    public const int NodeStarted = 220001;
}
