using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using System.Net;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Renci.SshNet;
using Vts.AutoCopy.Domain;

namespace Vts.AutoCopy.Configuration;

/// <summary>Thrown for any configuration that cannot run; its message is shown to the operator as is.</summary>
public sealed class ConfigurationInvalidException(string message) : Exception(message);

public sealed record RetrySettings(TimeSpan Interval, int MaxAttempts);

/// <summary>How the target's host key is pinned (R10): one of the two, never trust-on-first-use.</summary>
public sealed record HostKeyPin(string? Sha256Fingerprint, string? KnownHostsFile);

public sealed record TargetSettings(
    TargetName Name,
    string Host,
    int Port,
    string User,
    string PrivateKeyFile,
    HostKeyPin HostKey,
    string VaultRoot,
    TimeSpan ConnectTimeout,
    TimeSpan OperationTimeout)
{
    /// <summary>The target's bandwidth limit and schedule; unlimited unless configured.</summary>
    public BandwidthSettings Bandwidth { get; init; } = BandwidthSettings.Unlimited;

    /// <summary>R10's <c>sftp-only</c>: use nothing at the target but SFTP (a key the target restricts to internal-sftp).
    /// Copies are then proven by reading them back; large tapes go in one stream and are not resumed.</summary>
    public bool SftpOnly { get; init; }
}

public sealed record PoolSettings(PoolName Name, TargetName Target, PoolName TargetPool);

/// <param name="Allow">the networks whose hosts may send EMS (<c>vts.ems.allow</c>) besides this host (loopback).</param>
public sealed record EmsSettings(IPEndPoint Listen, TimeSpan IdleTimeout, TimeSpan AckTimeout)
{
    public IReadOnlyList<IPNetwork> Allow { get; init; } = [];

    public bool Allows(IPAddress peer)
    {
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        return IPAddress.IsLoopback(peer) || Allow.Any(network => network.Contains(peer));
    }
}

/// <param name="Token">required off loopback; when set, every request must carry it as a bearer token.</param>
public sealed record AdminSettings(IPEndPoint Listen, string? Token);

/// <summary>Where the journal lives (<c>vts.journal</c>): one SQLite file in the state dir, or a PostgreSQL database that
/// every node of a cluster shares.</summary>
public enum JournalProvider
{
    Sqlite,
    PostgreSql,
}

/// <param name="ConnectionString">an Npgsql connection string for PostgreSQL; null for SQLite (the file is in the state dir).</param>
public sealed record JournalSettings(JournalProvider Provider, string? ConnectionString);

public sealed record AutoCopySettings(
    RetrySettings Retry,
    int MaxConcurrentTransfers,
    ImmutableDictionary<TargetName, TargetSettings> Targets,
    ImmutableDictionary<PoolName, PoolSettings> Pools)
{
    /// <summary>How often each pool is reconciled with its target pool by itself (<c>vts.autocopy.audit.interval</c>);
    /// null: never.</summary>
    public TimeSpan? AuditInterval { get; init; }

    /// <summary>Audits also compare content: the target hashes its copies in place (<c>vts.autocopy.audit.verify-content</c>).</summary>
    public bool AuditVerifiesContent { get; init; }
}

/// <summary>Everything under <c>vts { }</c>, read once at start and validated there.</summary>
public sealed record VtsSettings(
    string NodeName,
    string StateDir,
    string VaultRoot,
    EmsSettings Ems,
    AdminSettings Admin,
    JournalSettings Journal,
    AutoCopySettings AutoCopy)
{
    public static VtsSettings FromConfig(Config root)
    {
        if (!root.HasPath("vts"))
            throw new ConfigurationInvalidException("configuration has no 'vts' section");
        var vts = root.GetConfig("vts");
        RejectUnknownKeys(vts);

        var nodeName = RequiredString(vts, "node-name", "vts.node-name");
        var stateDir = RequiredString(vts, "state-dir", "vts.state-dir");
        var vaultRoot = RequiredString(vts, "vault-root", "vts.vault-root");
        if (!Directory.Exists(vaultRoot))
            throw new ConfigurationInvalidException($"vts.vault-root: folder '{vaultRoot}' does not exist");

        var ems = new EmsSettings(
            Endpoint(RequiredString(vts, "ems.listen", "vts.ems.listen"), "vts.ems.listen"),
            Duration(vts, "ems.idle-timeout", "vts.ems.idle-timeout", TimeSpan.FromMinutes(5)),
            Duration(vts, "ems.ack-timeout", "vts.ems.ack-timeout", TimeSpan.FromSeconds(10)))
        {
            Allow = Networks(vts, "ems.allow", "vts.ems.allow"),
        };

        var adminListen = Endpoint(OptionalString(vts, "admin.listen", "vts.admin.listen") ?? "127.0.0.1:7410", "vts.admin.listen");
        var token = OptionalString(vts, "admin.token", "vts.admin.token");
        if (token is null && !IPAddress.IsLoopback(adminListen.Address))
            throw new ConfigurationInvalidException(
                $"vts.admin.token is required: vts.admin.listen ({adminListen}) is not a loopback address");
        if (token is { Length: < 16 })
            throw new ConfigurationInvalidException("vts.admin.token must be at least 16 characters");
        var admin = new AdminSettings(adminListen, token);

        return new VtsSettings(nodeName, Path.GetFullPath(stateDir), Path.GetFullPath(vaultRoot), ems, admin,
            ReadJournal(vts.GetConfig("journal") ?? Config.Empty),
            ReadAutoCopy(vts.GetConfig("autocopy") ?? Config.Empty))
        {
            SecureVts = ReadSecureVts(vts),
            License = new Licensing.LicenseSettings(
                OptionalString(vts, "license.key", "vts.license.key"),
                !vts.HasPath("license.evaluation") || Switch(vts, "license.evaluation", "vts.license.evaluation")),
        };
    }

    /// <summary>R12: a license key from the configuration, and whether a cluster without one evaluates for 30 days.</summary>
    public Licensing.LicenseSettings License { get; init; } = Licensing.LicenseSettings.Default;

    /// <summary>R11: whether this node may copy tapes encrypted by SecureVTS, and with which key servers.</summary>
    public SecureVtsSettings SecureVts { get; init; } = SecureVtsSettings.Off;

    /// <summary>The keys of each fixed block under <c>vts</c>; the named blocks under targets, pools and key servers are
    /// checked where they are read.</summary>
    private static readonly (string Path, string[] Keys)[] KnownKeys =
    [
        ("", ["node-name", "state-dir", "vault-root", "ems", "admin", "journal", "autocopy", "license", "securevts"]),
        ("ems", ["listen", "idle-timeout", "ack-timeout", "allow"]),
        ("admin", ["listen", "token"]),
        ("journal", ["provider", "connection-string"]),
        ("autocopy", ["retry", "max-concurrent-transfers", "targets", "pools", "audit"]),
        ("autocopy.audit", ["interval", "verify-content"]),
        ("autocopy.retry", ["interval", "max-attempts"]),
        ("license", ["key", "evaluation"]),
        ("securevts", ["enabled", "key-servers"]),
    ];

    /// <summary>A typo is an error, not a default quietly taken: <c>max-attemps = 2</c> would otherwise leave 12.</summary>
    private static void RejectUnknownKeys(Config vts)
    {
        foreach (var (path, keys) in KnownKeys)
        {
            var where = path == "" ? "vts" : $"vts.{path}";
            if (path != "" && !vts.HasPath(path)) continue;
            var value = path == "" ? vts.Root : vts.GetValue(path);
            if (!value.IsObject())
            {
                if (path != "") throw new ConfigurationInvalidException($"{where} must be an object {{ … }}");
                continue;
            }
            foreach (var key in value.GetObject().Items.Keys)
                if (!keys.Contains(key))
                    throw new ConfigurationInvalidException($"{where}: unknown key '{Printable.Clip(key)}'{Nearest(key, keys)}");
        }
    }

    /// <summary>" (did you mean 'x'?)" for a key a typo or two away from a known one, else the known keys.</summary>
    private static string Nearest(string key, string[] known)
    {
        var (best, distance) = known.Select(k => (k, Distance(key, k))).MinBy(p => p.Item2);
        return distance <= Math.Max(2, best.Length / 3) ? $" (did you mean '{best}'?)" : $" (known: {string.Join(", ", known)})";
    }

    /// <summary>Levenshtein distance, capped: keys are short.</summary>
    private static int Distance(string a, string b)
    {
        if (a.Length > 64 || b.Length > 64) return int.MaxValue;
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>A list of addresses or networks: <c>["10.1.2.3", "10.9.0.0/16", "fd00::/8"]</c>.</summary>
    /// <summary>The items of a HOCON list, or null when <paramref name="value"/> is not one. An empty list is one:
    /// Akka's HOCON answers <c>IsArray()</c> false for <c>[]</c> (and keeps the blank that follows it on its line).</summary>
    private static IList<HoconValue>? ListOf(HoconValue value) =>
        value.Values.Where(v => v is not HoconLiteral || !string.IsNullOrWhiteSpace(v.GetString())).ToList() is [HoconArray { Count: 0 }]
            ? []
            : value.IsArray() ? value.GetArray() : null;

    private static IReadOnlyList<IPNetwork> Networks(Config c, string path, string where)
    {
        if (!c.HasPath(path)) return [];
        var value = c.GetValue(path);
        var items = ListOf(value) ?? throw new ConfigurationInvalidException($"{where} must be a list of addresses or networks, e.g. [\"10.1.2.3\", \"10.9.0.0/16\"]");
        var networks = new List<IPNetwork>();
        foreach (var item in items)
        {
            var text = item.IsObject() || item.IsArray() ? "" : item.GetString()?.Trim() ?? "";
            if (IPAddress.TryParse(text, out var address))
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else if (IPNetwork.TryParse(text, out var network))
                networks.Add(network);
            else
                throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(text)}' is not an address or a network (ADDRESS or ADDRESS/PREFIX)");
        }
        return networks;
    }

    private static JournalSettings ReadJournal(Config journal)
    {
        if (!journal.IsEmpty) RejectUnknownKeys(journal, "vts.journal", "provider", "connection-string");
        var provider = OptionalString(journal, "provider", "vts.journal.provider") ?? "sqlite";
        var connectionString = OptionalString(journal, "connection-string", "vts.journal.connection-string");
        switch (provider)
        {
            case "sqlite":
                if (connectionString is not null)
                    throw new ConfigurationInvalidException(
                        "vts.journal.connection-string: not used with provider sqlite (the journal is journal.db in vts.state-dir)");
                return new JournalSettings(JournalProvider.Sqlite, null);
            case "postgresql":
                if (connectionString is null)
                    throw new ConfigurationInvalidException("vts.journal.connection-string is required with provider postgresql");
                try
                {
                    var parsed = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
                    if (string.IsNullOrEmpty(parsed.Host))
                        throw new ConfigurationInvalidException("vts.journal.connection-string: no Host (e.g. Host=db1;Database=vts;Username=vts)");
                }
                catch (ArgumentException e)
                {
                    throw new ConfigurationInvalidException($"vts.journal.connection-string: not an Npgsql connection string ({e.Message})");
                }
                return new JournalSettings(JournalProvider.PostgreSql, connectionString);
            default:
                throw new ConfigurationInvalidException($"vts.journal.provider: '{Printable.Clip(provider)}' is not sqlite or postgresql");
        }
    }

    private static AutoCopySettings ReadAutoCopy(Config autocopy)
    {
        var retry = new RetrySettings(
            Duration(autocopy, "retry.interval", "vts.autocopy.retry.interval", TimeSpan.FromMinutes(5)),
            Int(autocopy, "retry.max-attempts", "vts.autocopy.retry.max-attempts", 12, 1, 1000));
        var maxConcurrent = Int(autocopy, "max-concurrent-transfers", "vts.autocopy.max-concurrent-transfers", 2, 1, 64);

        var targets = ImmutableDictionary.CreateBuilder<TargetName, TargetSettings>();
        foreach (var (name, block) in Children(autocopy, "targets", "vts.autocopy.targets"))
        {
            var target = ReadTarget(name, block);
            targets[target.Name] = target;
        }

        var pools = ImmutableDictionary.CreateBuilder<PoolName, PoolSettings>();
        foreach (var (name, block) in Children(autocopy, "pools", "vts.autocopy.pools"))
        {
            var where = $"vts.autocopy.pools.{name}";
            RejectUnknownKeys(block, where, "target", "target-pool");
            if (!PoolName.TryParse(name, out var pool, out var error))
                throw new ConfigurationInvalidException($"{where}: {error}");
            var targetText = RequiredString(block, "target", $"{where}.target");
            var target = targets.Keys.FirstOrDefault(t => t.Value == targetText)
                ?? throw new ConfigurationInvalidException(
                    $"{where}.target: unknown target '{targetText}' (configured: {string.Join(", ", targets.Keys.Select(t => t.Value).DefaultIfEmpty("none"))})");
            if (!PoolName.TryParse(RequiredString(block, "target-pool", $"{where}.target-pool"), out var targetPool, out error))
                throw new ConfigurationInvalidException($"{where}.target-pool: {error}");
            pools[pool] = new PoolSettings(pool, target, targetPool);
        }

        return new AutoCopySettings(retry, maxConcurrent, targets.ToImmutable(), pools.ToImmutable())
        {
            AuditInterval = autocopy.HasPath("audit.interval") && autocopy.GetString("audit.interval") is "off"
                ? null
                : Duration(autocopy, "audit.interval", "vts.autocopy.audit.interval", TimeSpan.FromHours(24)),
            AuditVerifiesContent = autocopy.HasPath("audit.verify-content")
                                   && Switch(autocopy, "audit.verify-content", "vts.autocopy.audit.verify-content"),
        };
    }

    private static TargetSettings ReadTarget(string name, Config block)
    {
        var where = $"vts.autocopy.targets.{name}";
        RejectUnknownKeys(block, where, "host", "port", "user", "private-key-file", "host-key-sha256",
            "known-hosts-file", "vault-root", "connect-timeout", "operation-timeout", "bandwidth", "sftp-only");
        TargetName targetName;
        try { targetName = TargetName.Parse(name); }
        catch (FormatException e) { throw new ConfigurationInvalidException($"{where}: {e.Message}"); }

        var host = RequiredString(block, "host", $"{where}.host");
        var port = Int(block, "port", $"{where}.port", 22, 1, 65535);
        var user = RequiredString(block, "user", $"{where}.user");

        var keyFile = RequiredString(block, "private-key-file", $"{where}.private-key-file");
        if (!File.Exists(keyFile))
            throw new ConfigurationInvalidException($"{where}.private-key-file: file '{keyFile}' does not exist");
        try { using var _ = new PrivateKeyFile(keyFile); }
        catch (Exception e) { throw new ConfigurationInvalidException($"{where}.private-key-file: '{keyFile}' is not a usable private key ({e.Message})"); }

        var fingerprint = OptionalString(block, "host-key-sha256");
        var knownHosts = OptionalString(block, "known-hosts-file");
        if ((fingerprint is null) == (knownHosts is null))
            throw new ConfigurationInvalidException(
                $"{where}: set exactly one of host-key-sha256 or known-hosts-file (the target's host key must be pinned)");
        if (fingerprint is not null && !HostKeyFingerprint.IsWellFormed(fingerprint))
            throw new ConfigurationInvalidException(
                $"{where}.host-key-sha256: '{Printable.Clip(fingerprint)}' is not a SHA256 fingerprint (expected 'SHA256:' and 43 base64 characters, as ssh-keygen -lf prints)");
        if (knownHosts is not null && !File.Exists(knownHosts))
            throw new ConfigurationInvalidException($"{where}.known-hosts-file: file '{knownHosts}' does not exist");

        var vaultRoot = RequiredString(block, "vault-root", $"{where}.vault-root");
        if (!vaultRoot.StartsWith('/') || vaultRoot.Contains("'") || vaultRoot.Split('/').Contains(".."))
            throw new ConfigurationInvalidException($"{where}.vault-root: '{Printable.Clip(vaultRoot)}' must be an absolute path without '..' or quotes");

        return new TargetSettings(targetName, host, port, user, keyFile, new HostKeyPin(fingerprint, knownHosts),
            vaultRoot.TrimEnd('/') is "" ? "/" : vaultRoot.TrimEnd('/'),
            Duration(block, "connect-timeout", $"{where}.connect-timeout", TimeSpan.FromSeconds(15)),
            Duration(block, "operation-timeout", $"{where}.operation-timeout", TimeSpan.FromSeconds(60)))
        {
            Bandwidth = ReadBandwidth(block, $"{where}.bandwidth"),
            SftpOnly = Switch(block, "sftp-only", $"{where}.sftp-only"),
        };
    }

    private static SecureVtsSettings ReadSecureVts(Config vts)
    {
        var enabled = Switch(vts, "securevts.enabled", "vts.securevts.enabled");
        var servers = ImmutableDictionary.CreateBuilder<string, KeyServerSettings>(StringComparer.Ordinal);
        foreach (var (name, block) in Children(vts, "securevts.key-servers", "vts.securevts.key-servers"))
        {
            var where = $"vts.securevts.key-servers.{name}";
            RejectUnknownKeys(block, where, "host", "port", "ca-file", "client-cert-file", "client-key-file");
            if (!Vts.AutoCopy.SecureVts.TapeHeader.IsKeyServerName(name))
                throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(name)}' is not a key server name (letters, digits, '.', '-', '_'; at most 64)");
            var host = RequiredString(block, "host", $"{where}.host");
            var port = Int(block, "port", $"{where}.port", 5696, 1, 65535);
            var caFile = ExistingFile(block, "ca-file", where);
            var certFile = ExistingFile(block, "client-cert-file", where);
            var keyFile = ExistingFile(block, "client-key-file", where);
            X509Certificate2Collection authorities = [];
            try { authorities.ImportFromPemFile(caFile); }
            catch (Exception e) { throw new ConfigurationInvalidException($"{where}.ca-file: '{caFile}' holds no PEM certificate ({FirstLine(e.Message)})"); }
            if (authorities.Count == 0) throw new ConfigurationInvalidException($"{where}.ca-file: '{caFile}' holds no PEM certificate");
            X509Certificate2 client;
            try { client = X509Certificate2.CreateFromPemFile(certFile, keyFile); }
            catch (Exception e)
            {
                throw new ConfigurationInvalidException(
                    $"{where}: client-cert-file '{certFile}' and client-key-file '{keyFile}' are not a PEM certificate and its private key ({FirstLine(e.Message)})");
            }
            servers[name] = new KeyServerSettings(name, host, port, authorities, client);
        }
        return new SecureVtsSettings(enabled, servers.ToImmutable());
    }

    private static string ExistingFile(Config block, string key, string where)
    {
        var file = RequiredString(block, key, $"{where}.{key}");
        return File.Exists(file) ? file : throw new ConfigurationInvalidException($"{where}.{key}: file '{file}' does not exist");
    }

    private static string FirstLine(string text) => Printable.Clip(text.Split('\n')[0]);

    private static BandwidthSettings ReadBandwidth(Config target, string where)
    {
        if (!target.HasPath("bandwidth")) return BandwidthSettings.Unlimited;
        if (!target.GetValue("bandwidth").IsObject())
            throw new ConfigurationInvalidException($"{where} must be an object {{ limit = …, schedule = [ … ] }}");
        var block = target.GetConfig("bandwidth");
        RejectUnknownKeys(block, where, "limit", "schedule");
        long? limit = null;
        if (OptionalString(block, "limit", $"{where}.limit") is { } text && !Rate.TryParse(text, out limit, out var error))
            throw new ConfigurationInvalidException($"{where}.limit: {error}");
        var schedule = ImmutableArray.CreateBuilder<BandwidthWindow>();
        if (block.HasPath("schedule"))
        {
            var windows = ListOf(block.GetValue("schedule"))
                ?? throw new ConfigurationInvalidException($"{where}.schedule must be a list [ {{ days = …, from = …, to = …, limit = … }} ]");
            if (windows.Count > 100) throw new ConfigurationInvalidException($"{where}.schedule: {windows.Count} windows; at most 100");
            for (var i = 0; i < windows.Count; i++)
            {
                var at = $"{where}.schedule[{i}]";
                if (!windows[i].IsObject()) throw new ConfigurationInvalidException($"{at} must be an object {{ days = …, from = …, to = …, limit = … }}");
                var items = windows[i].GetObject().Items;
                foreach (var key in items.Keys)
                    if (key is not ("days" or "from" or "to" or "limit"))
                        throw new ConfigurationInvalidException($"{at}: unknown key '{Printable.Clip(key)}'{Nearest(key, ["days", "from", "to", "limit"])}");
                string? Item(string key)
                {
                    if (!items.TryGetValue(key, out var value)) return null;
                    if (value.IsObject() || value.IsArray()) throw new ConfigurationInvalidException($"{at}.{key} must be a string");
                    return value.GetString()?.Trim();
                }
                schedule.Add(BandwidthWindow.Parse(Item("days"), Item("from"), Item("to"), Item("limit"), at));
            }
        }
        return new BandwidthSettings(limit, schedule.ToImmutable());
    }

    private static IEnumerable<(string Name, Config Block)> Children(Config parent, string path, string where)
    {
        if (!parent.HasPath(path)) yield break;
        var obj = parent.GetValue(path);
        if (!obj.IsObject())
            throw new ConfigurationInvalidException($"{where} must be an object");
        foreach (var key in obj.GetObject().Items.Keys)
        {
            var child = parent.GetValue($"{path}.{Quote(key)}");
            if (!child.IsObject())
                throw new ConfigurationInvalidException($"{where}.{key} must be an object {{ … }}");
            yield return (key, parent.GetConfig($"{path}.{Quote(key)}"));
        }
    }

    private static string Quote(string key) => key.Any(c => !char.IsLetterOrDigit(c) && c is not '-' and not '_') ? $"\"{key}\"" : key;

    private static void RejectUnknownKeys(Config block, string where, params string[] known)
    {
        foreach (var key in block.Root.GetObject().Items.Keys)
            if (!known.Contains(key))
                throw new ConfigurationInvalidException($"{where}: unknown key '{Printable.Clip(key)}'{Nearest(key, known)}");
    }

    private static string RequiredString(Config c, string path, string where)
    {
        var value = OptionalString(c, path, where);
        return value ?? throw new ConfigurationInvalidException($"{where} is required");
    }

    private static string? OptionalString(Config c, string path, string? where = null)
    {
        if (!c.HasPath(path)) return null;
        var v = c.GetValue(path);
        if (v.IsObject() || v.IsArray())
            throw new ConfigurationInvalidException($"{where ?? path} must be a string");
        var s = v.GetString();
        return string.IsNullOrWhiteSpace(s) ? null : s.Trim();
    }

    /// <summary>HOCON's booleans as operators write them: on/off, true/false, yes/no.</summary>
    private static bool Switch(Config c, string path, string where)
    {
        if (!c.HasPath(path)) return false;
        var value = c.GetValue(path);
        if (value.IsObject() || value.IsArray()) throw new ConfigurationInvalidException($"{where} must be on or off");
        var text = value.GetString();
        return text switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(text)}' is not on or off"),
        };
    }

    private static int Int(Config c, string path, string where, int fallback, int min, int max)
    {
        if (!c.HasPath(path)) return fallback;
        var text = c.GetValue(path).GetString();
        if (!int.TryParse(text, out var n) || n < min || n > max)
            throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(text)}' is not a whole number from {min} to {max}");
        return n;
    }

    private static TimeSpan Duration(Config c, string path, string where, TimeSpan fallback)
    {
        if (!c.HasPath(path)) return fallback;
        TimeSpan value;
        try { value = c.GetTimeSpan(path, fallback, allowInfinite: false); }
        catch (Exception) { throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(c.GetValue(path).GetString())}' is not a duration (e.g. 500ms, 30s, 5m)"); }
        if (value <= TimeSpan.Zero)
            throw new ConfigurationInvalidException($"{where}: must be longer than zero");
        return value;
    }

    private static IPEndPoint Endpoint(string text, string where)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !IPAddress.TryParse(text[..colon].Trim('[', ']'), out var ip)
            || !int.TryParse(text[(colon + 1)..], out var port) || port is < 0 or > 65535)
            throw new ConfigurationInvalidException($"{where}: '{Printable.Clip(text)}' is not ADDRESS:PORT (e.g. 127.0.0.1:7400)");
        return new IPEndPoint(ip, port);
    }
}
