using Akka.Configuration;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Hosting;
using Vts.AutoCopy.Persistence;
using Xunit;

namespace Vts.AutoCopy.Tests.Configuration;

/// <summary>Every configuration that cannot run stops start-up with one message naming the key.</summary>
public sealed class SettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vts-settings-").FullName;
    private readonly string _key;

    public SettingsTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "vault"));
        _key = Path.Combine(_dir, "id_ed25519");
        // A real OpenSSH ed25519 key, generated for these tests only.
        File.WriteAllText(_key, TestKeys.Ed25519Private);
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private string Valid(string extraTarget = "", string extraPool = "", string pools = null!) => $$"""
        vts {
          node-name = "n1"
          state-dir = "{{_dir}}/state"
          vault-root = "{{_dir}}/vault"
          ems.listen = "127.0.0.1:7400"
          autocopy {
            retry { interval = 5m, max-attempts = 12 }
            targets {
              dr {
                host = "127.0.0.1", port = 22, user = "vts"
                private-key-file = "{{_key}}"
                host-key-sha256 = "SHA256:3mgp1eaprrsjSBHxacZI5zTFVrlRGa7bT8d4NIobAZk"
                vault-root = "/var/lib/vts/vaults"
                {{extraTarget}}
              }
            }
            pools { {{pools ?? $"POOL1 {{ target = dr, target-pool = DRPOOL1 {extraPool} }}"}} }
          }
        }
        """;

    private static VtsSettings Read(string hocon) => VtsSettings.FromConfig(ConfigurationFactory.ParseString(hocon));

    [Theory]
    [InlineData("ems.allow = []", new string[0])]
    [InlineData("ems.allow = [\"10.1.2.3\", \"10.9.0.0/16\"]", new[] { "10.1.2.3/32", "10.9.0.0/16" })]
    [InlineData("", new string[0])]
    public void The_EMS_allow_list_may_be_written_empty_as_the_example_does(string allow, string[] networks)
    {
        var settings = Read(Valid().Replace("ems.listen = \"127.0.0.1:7400\"", $"ems.listen = \"127.0.0.1:7400\"\n{allow}"));
        Assert.Equal(networks, settings.Ems.Allow.Select(n => n.ToString()));
    }

    [Theory]
    [InlineData("", 24 * 3600.0)]
    [InlineData("audit.interval = 2s", 2.0)]
    [InlineData("audit { interval = off }", null)]
    [InlineData("audit { interval = 12h, verify-content = on }", 12 * 3600.0, true)]
    public void Each_pool_audits_itself_daily_unless_told_otherwise(string audit, double? seconds, bool content = false)
    {
        var settings = Read(Valid().Replace("retry { interval = 5m, max-attempts = 12 }", $"retry {{ interval = 5m, max-attempts = 12 }}\n{audit}"));
        Assert.Equal(seconds, settings.AutoCopy.AuditInterval?.TotalSeconds);
        Assert.Equal(content, settings.AutoCopy.AuditVerifiesContent);
    }

    [Theory]
    [InlineData("audit.interval = 0s", "vts.autocopy.audit.interval: must be longer than zero")]
    [InlineData("audit.interval = daily", "vts.autocopy.audit.interval: 'daily' is not a duration")]
    [InlineData("audit.verify-contents = on", "vts.autocopy.audit: unknown key 'verify-contents'")]
    [InlineData("audit.verify-content = sometimes", "vts.autocopy.audit.verify-content:")]
    public void A_bad_audit_setting_is_refused_naming_it(string audit, string said)
    {
        var e = Assert.Throws<ConfigurationInvalidException>(() =>
            Read(Valid().Replace("retry { interval = 5m, max-attempts = 12 }", $"retry {{ interval = 5m, max-attempts = 12 }}\n{audit}")));
        Assert.StartsWith(said, e.Message);
    }

    [Fact]
    public void A_bandwidth_schedule_may_be_written_empty()
    {
        var bandwidth = Read(Valid(extraTarget: "bandwidth { limit = \"10MB/s\", schedule = [] }")).AutoCopy.Targets.Values.Single().Bandwidth;
        Assert.Equal((10_000_000L, 0), (bandwidth.Limit!.Value, bandwidth.Schedule.Length));
    }

    [Fact]
    public void A_valid_configuration_is_read_with_the_documented_defaults()
    {
        var settings = Read(Valid());
        Assert.Equal(TimeSpan.FromMinutes(5), settings.AutoCopy.Retry.Interval);
        Assert.Equal(12, settings.AutoCopy.Retry.MaxAttempts);
        Assert.Equal(2, settings.AutoCopy.MaxConcurrentTransfers);
        var pool = Assert.Single(settings.AutoCopy.Pools.Values);
        Assert.Equal(("POOL1", "dr", "DRPOOL1"), (pool.Name.Value, pool.Target.Value, pool.TargetPool.Value));
        Assert.Equal(7400, settings.Ems.Listen.Port);
    }

    [Theory]
    [InlineData("POOL1 { target = nowhere, target-pool = DRPOOL1 }", "unknown target 'nowhere'")]
    [InlineData("\"PO OL\" { target = dr, target-pool = DRPOOL1 }", "invalid pool name")]
    [InlineData("POOL1 { target = dr, target-pool = \"../x\" }", "target-pool: invalid pool name")]
    [InlineData("POOL1 { target = dr }", "target-pool is required")]
    [InlineData("POOL1 { target = dr, target-pool = DRPOOL1, colour = red }", "unknown key 'colour' (known: target, target-pool)")]
    [InlineData("POOL1 = 5", "must be an object")]
    public void Bad_pools_are_refused(string pools, string message) =>
        Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(pools: pools))).Message);

    [Theory]
    [InlineData("host-key-sha256 = \"SHA256:short\"", "is not a SHA256 fingerprint")]
    [InlineData("host-key-sha256 = \"MD5:aa:bb\"", "is not a SHA256 fingerprint")]
    [InlineData("known-hosts-file = \"/nonexistent/known_hosts\"", "set exactly one of host-key-sha256 or known-hosts-file")]
    [InlineData("port = 70000", "port: '70000' is not a whole number from 1 to 65535")]
    [InlineData("port = abc", "port: 'abc' is not a whole number")]
    [InlineData("private-key-file = \"/nonexistent/key\"", "private-key-file: file '/nonexistent/key' does not exist")]
    [InlineData("vault-root = \"relative/path\"", "vault-root: 'relative/path' must be an absolute path")]
    [InlineData("vault-root = \"/a/../b\"", "must be an absolute path without '..'")]
    [InlineData("hots = typo", "unknown key 'hots' (did you mean 'host'?)")]
    [InlineData("connect-timeout = soon", "connect-timeout: 'soon' is not a duration")]
    public void Bad_targets_are_refused(string extra, string message) =>
        Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(extraTarget: extra))).Message);

    [Fact]
    public void A_targets_bandwidth_limit_and_schedule_are_read_as_operators_write_them()
    {
        var settings = Read(Valid(extraTarget: """
            bandwidth {
              limit = 400Mbit/s
              schedule = [
                { days = "Mon-Fri", from = "07:00", to = "19:00", limit = 50MiB/s }
                { from = "22:00", to = "06:00", limit = unlimited }
              ]
            }
            """));
        var bandwidth = settings.AutoCopy.Targets.Values.Single().Bandwidth;
        Assert.Equal(50_000_000, bandwidth.Limit);
        Assert.Equal(2, bandwidth.Schedule.Length);
        Assert.Equal(new LimitNow(50L * 1024 * 1024, "schedule Mon-Fri 07:00-19:00"), bandwidth.At(new DateTime(2026, 11, 30, 12, 0, 0)));
        Assert.Equal(new LimitNow(null, "schedule every day 22:00-06:00"), bandwidth.At(new DateTime(2026, 12, 5, 23, 0, 0)));
        Assert.Equal(BandwidthSettings.Unlimited, Read(Valid()).AutoCopy.Targets.Values.Single().Bandwidth);
    }

    [Fact]
    public void Sftp_only_is_off_unless_switched_on()
    {
        Assert.False(Read(Valid()).AutoCopy.Targets.Values.Single().SftpOnly);
        Assert.True(Read(Valid(extraTarget: "sftp-only = on")).AutoCopy.Targets.Values.Single().SftpOnly);
        Assert.True(Read(Valid(extraTarget: "sftp-only = true")).AutoCopy.Targets.Values.Single().SftpOnly);
        Assert.False(Read(Valid(extraTarget: "sftp-only = off")).AutoCopy.Targets.Values.Single().SftpOnly);
        Assert.Contains("sftp-only: 'maybe' is not on or off",
            Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(extraTarget: "sftp-only = maybe"))).Message);
        Assert.Contains("sftp-only must be on or off",
            Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(extraTarget: "sftp-only { on = yes }"))).Message);
    }

    [Theory]
    [InlineData("bandwidth = 5", "bandwidth must be an object")]
    [InlineData("bandwidth { limit = fast }", "bandwidth.limit: 'fast' is not a rate")]
    [InlineData("bandwidth { limt = 5MB/s }", "bandwidth: unknown key 'limt' (did you mean 'limit'?)")]
    [InlineData("bandwidth { schedule = { from = \"07:00\" } }", "schedule must be a list")]
    [InlineData("bandwidth { schedule = [ 5 ] }", "schedule[0] must be an object")]
    [InlineData("bandwidth { schedule = [ { from = \"07:00\", to = \"08:00\", limit = 5MB/s, dayz = Mon } ] }", "schedule[0]: unknown key 'dayz' (did you mean 'days'?)")]
    [InlineData("bandwidth { schedule = [ { from = \"07:00\", to = \"08:00\", limit = 5MB/s }, { from = \"07:00\", to = \"99:00\", limit = 5MB/s } ] }", "schedule[1].to: '99:00'")]
    [InlineData("bandwidth { schedule = [ { from = \"07:00\", to = \"08:00\" } ] }", "schedule[0].limit is required")]
    public void A_bad_bandwidth_block_is_refused_naming_the_key(string extra, string message) =>
        Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(extraTarget: extra))).Message);

    [Fact]
    public void A_schedule_of_more_windows_than_anyone_writes_is_refused()
    {
        var windows = string.Join(", ", Enumerable.Repeat("{ from = \"07:00\", to = \"08:00\", limit = 5MB/s }", 101));
        var e = Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(extraTarget: $"bandwidth {{ schedule = [ {windows} ] }}")));
        Assert.Contains("at most 100", e.Message);
    }

    [Fact]
    public void A_key_file_that_is_not_a_key_is_refused()
    {
        var notAKey = Path.Combine(_dir, "not-a-key");
        File.WriteAllText(notAKey, "hello");
        var e = Assert.Throws<ConfigurationInvalidException>(() => Read(Valid(extraTarget: $"private-key-file = \"{notAKey}\"")));
        Assert.Contains("is not a usable private key", e.Message);
    }

    [Fact]
    public void A_target_without_a_pinned_host_key_is_refused()
    {
        var hocon = Valid().Replace("host-key-sha256 = \"SHA256:3mgp1eaprrsjSBHxacZI5zTFVrlRGa7bT8d4NIobAZk\"", "");
        Assert.Contains("must be pinned", Assert.Throws<ConfigurationInvalidException>(() => Read(hocon)).Message);
    }

    [Theory]
    [InlineData("retry { interval = 5m, max-attempts = 0 }", "max-attempts: '0' is not a whole number from 1")]
    [InlineData("retry { interval = -5s }", "retry.interval")]
    [InlineData("retry { interval = often }", "retry.interval: 'often' is not a duration")]
    [InlineData("max-concurrent-transfers = 0", "max-concurrent-transfers")]
    public void Bad_autocopy_settings_are_refused(string line, string message)
    {
        var hocon = Valid().Replace("retry { interval = 5m, max-attempts = 12 }", line);
        Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => Read(hocon)).Message);
    }

    [Theory]
    [InlineData("ems.listen = \"127.0.0.1:7400\"", "ems.listen = \"localhost\"", "vts.ems.listen: 'localhost' is not ADDRESS:PORT")]
    [InlineData("ems.listen = \"127.0.0.1:7400\"", "ems.listen = \"127.0.0.1:99999\"", "is not ADDRESS:PORT")]
    [InlineData("node-name = \"n1\"", "", "vts.node-name is required")]
    [InlineData("vault-root = \"", "vault-root = \"/nonexistent", "vts.vault-root: folder '/nonexistent")]
    public void Bad_node_settings_are_refused(string from, string to, string message) =>
        Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => Read(Valid().Replace(from, to))).Message);

    [Fact]
    public void No_vts_section_is_refused() =>
        Assert.Contains("no 'vts' section", Assert.Throws<ConfigurationInvalidException>(() => Read("akka.loglevel = INFO")).Message);

    [Fact]
    public void Later_files_override_earlier_ones_and_environment_variables_substitute()
    {
        var first = Path.Combine(_dir, "a.hocon");
        var second = Path.Combine(_dir, "b.hocon");
        File.WriteAllText(first, Valid());
        Environment.SetEnvironmentVariable("VTS_TEST_NODE_NAME", "from-env");
        File.WriteAllText(second, "vts.node-name = ${?VTS_TEST_NODE_NAME}\nvts.state-dir = ${?VTS_TEST_UNSET}\nvts.autocopy.retry.max-attempts = 3");
        var settings = VtsSettings.FromConfig(NodeConfig.Load([first, second]));
        Assert.Equal(("from-env", 3), (settings.NodeName, settings.AutoCopy.Retry.MaxAttempts));
        Assert.EndsWith("state", settings.StateDir); // an unset optional variable leaves the earlier value
    }

    [Fact]
    public void A_file_that_does_not_parse_or_exist_is_refused()
    {
        var bad = Path.Combine(_dir, "bad.hocon");
        foreach (var (text, message) in new[]
                 {
                     ("vts { node-name = ", "a key with no value"),
                     ("vts { node-name = \"x\"\n", "'{' is never closed"),
                     ("vts { node-name = \"x }", "unterminated string"),
                     ("vts { a = [1, 2 }", "unexpected '}'"),
                 })
        {
            File.WriteAllText(bad, text);
            Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => NodeConfig.Load([bad])).Message);
        }
        Assert.Contains("does not exist", Assert.Throws<ConfigurationInvalidException>(() => NodeConfig.Load(["/nonexistent.hocon"])).Message);
        Assert.Contains("pass --config", Assert.Throws<ConfigurationInvalidException>(() => NodeConfig.Load([])).Message);
    }

    [Fact]
    public void An_oversized_file_is_refused()
    {
        var big = Path.Combine(_dir, "big.hocon");
        File.WriteAllText(big, "# " + new string('x', 2 * 1024 * 1024));
        Assert.Contains("larger than 1 MiB", Assert.Throws<ConfigurationInvalidException>(() => NodeConfig.Load([big])).Message);
    }

    /// <summary>A key server's files: a self-signed certificate as the authority and as the client's, with its key.</summary>
    private (string Ca, string Cert, string Key) KeyServerFiles()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=vts-node", rsa,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var (ca, certFile, key) = (Path.Combine(_dir, "ca.pem"), Path.Combine(_dir, "client.pem"), Path.Combine(_dir, "client.key"));
        File.WriteAllText(ca, cert.ExportCertificatePem());
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(key, rsa.ExportPkcs8PrivateKeyPem());
        return (ca, certFile, key);
    }

    private string WithSecureVts(string block) => Valid().TrimEnd().TrimEnd('}') + $"  securevts {{ {block} }}\n}}";

    [Fact]
    public void SecureVts_is_off_unless_enabled_and_its_key_servers_are_read_once()
    {
        Assert.False(Read(Valid()).SecureVts.Enabled);
        var (ca, cert, key) = KeyServerFiles();
        var settings = Read(WithSecureVts($"enabled = on, key-servers {{ kms1 {{ host = kms1.example, ca-file = \"{ca}\", client-cert-file = \"{cert}\", client-key-file = \"{key}\" }} }}"));
        Assert.True(settings.SecureVts.Enabled);
        var server = settings.SecureVts.KeyServers["kms1"];
        Assert.Equal(("kms1.example", 5696), (server.Host, server.Port));
        Assert.True(server.ClientCertificate.HasPrivateKey);
        Assert.Single(server.Authorities);
    }

    [Theory]
    [InlineData("enabled = maybe", "vts.securevts.enabled: 'maybe' is not on or off")]
    [InlineData("enabeld = on", "unknown key 'enabeld' (did you mean 'enabled'?)")]
    [InlineData("key-servers { kms1 { host = h, hots = x } }", "vts.securevts.key-servers.kms1: unknown key 'hots' (did you mean 'host'?)")]
    [InlineData("key-servers { kms1 { ca-file = CA, client-cert-file = CERT, client-key-file = KEY } }", "kms1.host is required")]
    [InlineData("key-servers { kms1 { host = h, port = 0, ca-file = CA, client-cert-file = CERT, client-key-file = KEY } }", "kms1.port: '0' is not a whole number")]
    [InlineData("key-servers { kms1 { host = h, client-cert-file = CERT, client-key-file = KEY } }", "kms1.ca-file is required")]
    [InlineData("key-servers { kms1 { host = h, ca-file = \"/nonexistent/ca.pem\", client-cert-file = CERT, client-key-file = KEY } }", "ca-file: file '/nonexistent/ca.pem' does not exist")]
    [InlineData("key-servers { kms1 { host = h, ca-file = GARBAGE, client-cert-file = CERT, client-key-file = KEY } }", "holds no PEM certificate")]
    [InlineData("key-servers { kms1 { host = h, ca-file = CA, client-cert-file = CERT, client-key-file = GARBAGE } }", "are not a PEM certificate and its private key")]
    [InlineData("key-servers { kms1 { host = h, ca-file = CA, client-cert-file = GARBAGE, client-key-file = KEY } }", "are not a PEM certificate and its private key")]
    [InlineData("key-servers { \"k ms\" { host = h, ca-file = CA, client-cert-file = CERT, client-key-file = KEY } }", "is not a key server name")]
    [InlineData("key-servers = 5", "vts.securevts.key-servers must be an object")]
    public void A_bad_SecureVts_block_is_refused_naming_the_key(string block, string message)
    {
        var (ca, cert, key) = KeyServerFiles();
        var garbage = Path.Combine(_dir, "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        block = block.Replace("GARBAGE", $"\"{garbage}\"").Replace("CA", $"\"{ca}\"").Replace("CERT", $"\"{cert}\"").Replace("KEY", $"\"{key}\"");
        Assert.Contains(message, Assert.Throws<ConfigurationInvalidException>(() => Read(WithSecureVts(block))).Message);
    }
}
