using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Transport;

/// <summary>One attempt at putting a tape file on its target (R4, R9, R10, R14).</summary>
public sealed record TransferRequest(string SourcePath, TargetSettings Target, PoolName TargetPool, Volser Volser);

public abstract record TransferOutcome
{
    /// <param name="Verification">the part of <paramref name="Duration"/> spent proving the copy at the target.</param>
    public sealed record Succeeded(long Size, string Sha256, TimeSpan Duration, TimeSpan Verification = default) : TransferOutcome;

    /// <param name="Security">the target could not be trusted (host key unknown or changed, R10).</param>
    public sealed record Failed(string Cause, bool Security = false) : TransferOutcome;

    public sealed record Cancelled(string Reason) : TransferOutcome;
}

/// <summary>Moves one tape file to its target. Implementations never throw for a failed attempt:
/// they say why in a <see cref="TransferOutcome.Failed"/>, so the caller can journal the cause.</summary>
public interface ITapeTransport
{
    Task<TransferOutcome> CopyAsync(TransferRequest request, CancellationToken cancellation);
}
