using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.Kmip;
using Vts.AutoCopy.Transport;

namespace Vts.AutoCopy.SecureVts;

/// <summary>Why R11 refused an attempt, in the words the event log uses.</summary>
public sealed record KeyCheckRefusal(FailureKind Kind, string Cause);

/// <summary>R11, before each attempt: a tape that begins with the SecureVTS magic is copied only if, in this order,
/// SecureVTS is enabled here, its header can be read, the key server the header names is configured here, that server answers, it holds the
/// key (KMIP Get by the header's keyId), and the key's check value matches the header's. The key itself is held only
/// while its check value is computed, then wiped; a key that checked out is remembered (by server, id and check value,
/// never the key) for <see cref="Remembered"/>, so a burst of tapes under one key asks the server once.</summary>
public sealed class TapeKeyCheck(SecureVtsSettings settings, TimeProvider time)
{
    /// <summary>How long a key that checked out is taken as still there. A key revoked at the server meanwhile is
    /// noticed when this runs out.</summary>
    public static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);

    /// <summary>Connecting, TLS and the Get together.</summary>
    public static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(15);

    /// <summary>With SecureVTS off: encrypted tapes are refused, plain ones copied.</summary>
    public static readonly TapeKeyCheck Off = new(SecureVtsSettings.Off, TimeProvider.System);

    private readonly CheckedKeys _checked = new(Remembered, time);

    /// <summary>Null when the tape may be copied: it is not encrypted, or its key checked out.</summary>
    public async Task<KeyCheckRefusal?> CheckAsync(SafeFileHandle tape, CancellationToken cancellation)
    {
        var first = new byte[TapeHeader.Needed];
        var read = 0;
        while (read < first.Length)
        {
            var n = await RandomAccess.ReadAsync(tape, first.AsMemory(read), read, cancellation);
            if (n == 0) break;
            read += n;
        }
        var begins = first.AsSpan(0, read);
        if (!begins.StartsWith(TapeHeader.Magic)) return null;
        // SecureVTS off is a configuration fault whatever follows the magic: it is what the operator must fix first,
        // and a node that does not use SecureVTS has no business reading the rest of the header.
        if (!settings.Enabled) return new KeyCheckRefusal(FailureKind.SecureVtsDisabled, Causes.Disabled);
        return TapeHeader.Parse(begins) switch
        {
            TapeHeader.Encrypted header => await Check(header, cancellation),
            TapeHeader.Malformed malformed => new KeyCheckRefusal(FailureKind.SecureVtsHeaderMalformed, malformed.Cause),
            _ => throw new InvalidOperationException("a tape beginning with the SecureVTS magic is encrypted or malformed"),
        };
    }

    private async Task<KeyCheckRefusal?> Check(TapeHeader.Encrypted header, CancellationToken cancellation)
    {
        if (!settings.KeyServers.TryGetValue(header.KeyServer, out var server))
            return new KeyCheckRefusal(FailureKind.KeyServerNotConfigured, Causes.NotConfigured(header.KeyServer));

        var remembered = (server.Name, header.KeyId, Convert.ToHexStringLower(header.Kcv));
        if (_checked.Contains(remembered)) return null;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(ServerTimeout);
        byte[] key;
        try
        {
            await using var client = await KmipClient.ConnectAsync(server.Endpoint, deadline.Token);
            key = await client.GetSymmetricKeyAsync(header.KeyId, deadline.Token);
        }
        catch (KmipOperationException refused) when (refused.Reason is KmipResultReason.ItemNotFound or KmipResultReason.PermissionDenied)
        {
            return new KeyCheckRefusal(FailureKind.KeyNotFound, Causes.KeyNotFound(server.Name, header.KeyId, refused.Message));
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return Unreachable(server, $"no answer within {ServerTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or AuthenticationException
                                       or KmipProtocolException or KmipOperationException)
        {
            return Unreachable(server, e switch
            {
                AuthenticationException => $"TLS failed ({e.Message}): check ca-file, client-cert-file and the server's certificate",
                KmipOperationException => $"it refused the request ({e.Message})",
                KmipProtocolException => $"its answer could not be read ({e.Message})",
                _ => e.Message,
            });
        }

        try
        {
            if (!CryptographicOperations.FixedTimeEquals(CheckValue(key), header.Kcv))
                return new KeyCheckRefusal(FailureKind.KeyCheckFailed, Causes.KeyCheckFailed(server.Name, header.KeyId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
        _checked.Add(remembered);
        return null;
    }

    private static KeyCheckRefusal Unreachable(KeyServerSettings server, string why) =>
        new(FailureKind.KeyServerUnreachable, Causes.Unreachable(server.Name, $"{server.Host}:{server.Port}", why));

    /// <summary>R11's causes as the event log and <c>vtsctl</c> show them. Each leads with the cause's name as R11 gives it
    /// and is short: an event-log line holds 255 characters (docs/operations.md, Event log), and pool, tape, attempt and target take their
    /// share, so the two configuration faults say what to add in one short clause that always fits; the details of an
    /// entry are in README and docs/configuration.md. The tape is not named: every place that shows a cause names it. A
    /// header that cannot be read says so in <see cref="TapeHeader.Malformed"/>'s words, which begin "SecureVTS header".</summary>
    public static class Causes
    {
        public const string Disabled = "SecureVTS disabled; set vts.securevts.enabled = on and add the tape's key server";

        public static string NotConfigured(string keyServer) =>
            $"key server not configured: {keyServer}; add vts.securevts.key-servers.{keyServer}";

        public static string Unreachable(string keyServer, string address, string why) =>
            $"key server unreachable: {keyServer} ({address}): {why}";

        public static string KeyNotFound(string keyServer, string keyId, string answer) =>
            $"key not found: '{Printable.Clip(keyId)}' on key server {keyServer} ({answer})";

        public static string KeyCheckFailed(string keyServer, string keyId) =>
            $"key check failed: kcv of key '{Printable.Clip(keyId)}' on key server {keyServer} differs from the tape's";
    }

    /// <summary>The first 16 bytes of HMAC-SHA256(key, "VTS-KCV"): shows a key is the right one without showing it.</summary>
    public static byte[] CheckValue(byte[] key) => HMACSHA256.HashData(key, "VTS-KCV"u8)[..16];
}
