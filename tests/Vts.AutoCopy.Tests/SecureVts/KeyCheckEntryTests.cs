using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.SecureVts;
using Vts.AutoCopy.Transport;
using Xunit;

namespace Vts.AutoCopy.Tests.SecureVts;

/// <summary>R11's causes as they reach <c>event.log</c> (docs/operations.md, Event log: at most 255 characters a line): each leads with its
/// cause's name, and a configuration fault's how-to-fix survives the line whole, with long but real names everywhere.</summary>
public sealed class KeyCheckEntryTests : IDisposable
{
    private const string Pool = "POOL_ARCHIVE_LONG_RETENTION_0001"; // 32 characters, the longest a pool name may be
    private const string Volser = "A00001";
    private const string Node = "vts-src-node-01";
    private const string Target = "dr-vts-east-2";
    private const string KeyServer = "kms-east-1";

    /// <summary>The host name is the line's one field this test does not choose: allow for one this long.</summary>
    private const int HostNameAllowed = 32;

    private static readonly DateTimeOffset At = new(2026, 12, 1, 11, 20, 12, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("vts-keycheck-entry-").FullName;

    public static TheoryData<int> Ids => [424010, 424011, 424012, 424013, 424014, 424015];

    [Theory]
    [MemberData(nameof(Ids))]
    public async Task The_cause_and_its_fix_survive_whole_in_the_event_log_line(int messageId)
    {
        var (refusal, mustSurvive) = await Refusal(messageId);

        var (id, text) = AttemptFailedEntry.For(refusal.Kind, 11, 12, Target, refusal.Cause, At.AddMinutes(5));
        var line = EventLogLine.Format(new EventLogEntry(At, Severity.Warning, id, Node, Pool, Volser, text));

        Assert.Equal(messageId, id);
        Assert.True(line.Length <= EventLogLine.MaxLength, line);
        Assert.Contains($"|{Pool}/{Volser}: {mustSurvive}", line);
        var fixEnds = line.IndexOf(mustSurvive, StringComparison.Ordinal) + mustSurvive.Length;
        Assert.True(fixEnds + Math.Max(0, HostNameAllowed - Environment.MachineName.Length) <= EventLogLine.MaxLength,
            $"'{mustSurvive}' would be cut on a host with a {HostNameAllowed}-character name: {line}");
    }

    /// <summary>The refusal for each id, from the real key check where no key server is needed to reach it, and what of
    /// its cause must reach the line whole.</summary>
    private async Task<(KeyCheckRefusal Refusal, string MustSurvive)> Refusal(int messageId)
    {
        var encrypted = TapeHeader.Write(KeyServer, "4f1c2a9e-7d3b-4c55-9a0e-2b8d6f1e3c77", new byte[16]);
        switch (messageId)
        {
            case 424010:
                return (await Check(TapeKeyCheck.Off, encrypted), "SecureVTS disabled; set vts.securevts.enabled = on and add the tape's key server");
            case 424011:
                return (await Check(new TapeKeyCheck(Enabled(), TimeProvider.System), encrypted),
                    $"key server not configured: {KeyServer}; add vts.securevts.key-servers.{KeyServer}");
            case 424012:
                using (var certificate = SelfSigned())
                {
                    var nowhere = new KeyServerSettings(KeyServer, "localhost", ClosedPort(), [certificate], certificate);
                    return (await Check(new TapeKeyCheck(Enabled(nowhere), TimeProvider.System), encrypted),
                        $"key server unreachable: {KeyServer} (localhost:");
                }
            case 424013:
                return (new KeyCheckRefusal(FailureKind.KeyNotFound,
                        TapeKeyCheck.Causes.KeyNotFound(KeyServer, "4f1c2a9e-7d3b-4c55-9a0e-2b8d6f1e3c77", "ItemNotFound: Could not locate object")),
                    $"key not found: '4f1c2a9e-7d3b-4c55-9a0e-2b8d6f1e3c77' on key server {KeyServer}");
            case 424014:
                return (new KeyCheckRefusal(FailureKind.KeyCheckFailed, TapeKeyCheck.Causes.KeyCheckFailed(KeyServer, "4f1c2a9e-7d3b-4c55-9a0e-2b8d6f1e3c77")),
                    $"key check failed: kcv of key '4f1c2a9e-7d3b-4c55-9a0e-2b8d6f1e3c77' on key server {KeyServer} differs");
            default:
                var malformed = await Check(new TapeKeyCheck(Enabled(), TimeProvider.System), Encoding.ASCII.GetBytes($"VTSENC01{{\"keyServer\":\"{KeyServer}\"}}\n"));
                return (malformed, "SecureVTS header lacks keyId, kcv");
        }
    }

    private async Task<KeyCheckRefusal> Check(TapeKeyCheck check, byte[] tape)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, [.. tape, .. new byte[64]]);
        await using var file = File.OpenRead(path);
        var refusal = await check.CheckAsync(file.SafeFileHandle, CancellationToken.None);
        Assert.NotNull(refusal);
        return refusal;
    }

    private static SecureVtsSettings Enabled(params KeyServerSettings[] servers) =>
        new(true, servers.ToImmutableDictionary(s => s.Name, StringComparer.Ordinal));

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest("CN=vts-src-node-01", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    /// <summary>A loopback port nothing listens on: the connection is refused at once.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
