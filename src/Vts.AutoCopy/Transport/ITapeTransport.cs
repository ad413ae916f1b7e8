using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Transport;

/// <summary>One attempt at putting a tape file on its target (R4, R9, R10, R14).</summary>
/// <param name="Meter">paces the bytes sent to the attempt's bandwidth share and counts them; none: unlimited, uncounted.</param>
public sealed record TransferRequest(string SourcePath, TargetSettings Target, PoolName TargetPool, Volser Volser, TransferMeter? Meter = null);

public abstract record TransferOutcome
{
    /// <param name="Proof">how the target showed it holds the source's SHA-256.</param>
    /// <param name="Verification">the part of <paramref name="Duration"/> spent proving the copy at the target after
    /// the bytes were sent (none where the target hashed them as it wrote them; for a copy read back as it was written,
    /// the wait for the read-back after the last byte).</param>
    /// <param name="Streams">how many connections carried the bytes at once (chunks of one tape, see Stripes).</param>
    /// <param name="Resumed">bytes not sent again: an earlier attempt's file at the target held them, proven (R17).</param>
    public sealed record Succeeded(long Size, string Sha256, TimeSpan Duration, TargetProof Proof, TimeSpan Verification = default,
        int Streams = 1, long Resumed = 0) : TransferOutcome;

    /// <param name="Kind">a transfer that went wrong, or one refused for security's sake (R10, R15).</param>
    public sealed record Failed(string Cause, FailureKind Kind = FailureKind.Transfer) : TransferOutcome;

    public sealed record Cancelled(string Reason) : TransferOutcome;
}

/// <summary>Why an attempt failed, as far as operators must tell failures apart: the security ones are critical.</summary>
public enum FailureKind
{
    /// <summary>The transfer went wrong (connection, target, source changed…); retried as usual.</summary>
    Transfer,

    /// <summary>R10: the target's host key is unknown or changed; nothing was sent.</summary>
    TargetNotTrusted,

    /// <summary>R15: a link, FIFO, device or folder where a tape, its pool folder or its copy's final name should be;
    /// nothing was read or written through it.</summary>
    NotARegularFile,

    /// <summary>R11: the tape is encrypted by SecureVTS and SecureVTS is not enabled on this node.</summary>
    SecureVtsDisabled,

    /// <summary>R11: the key server the tape's header names is not configured on this node.</summary>
    KeyServerNotConfigured,

    /// <summary>R11: the key server did not answer, refused our certificate, or answered what we cannot read.</summary>
    KeyServerUnreachable,

    /// <summary>R11: the key server has no such key (or none this node may read).</summary>
    KeyNotFound,

    /// <summary>R11: the key does not match the check value in the tape's header.</summary>
    KeyCheckFailed,

    /// <summary>R11: the tape begins like a SecureVTS header but the header cannot be read.</summary>
    SecureVtsHeaderMalformed,
}

/// <summary>How a target proved it holds a tape's bytes (R9).</summary>
public enum TargetProof
{
    /// <summary>The process that wrote the file hashed the bytes it wrote, in the same pass (python3 at the target).</summary>
    HashedWhileWriting,

    /// <summary>The target hashed the file once it was written (its openssl or sha256sum).</summary>
    HashedFile,

    /// <summary>The file was read back over SFTP: whole and hashed here, or (a large tape) block by block as it was
    /// written, each block compared with the bytes sent, and its size.</summary>
    ReadBack,
}

/// <summary>Moves one tape file to its target. Implementations never throw for a failed attempt:
/// they say why in a <see cref="TransferOutcome.Failed"/>, so the caller can journal the cause.</summary>
public interface ITapeTransport
{
    Task<TransferOutcome> CopyAsync(TransferRequest request, CancellationToken cancellation);
}
