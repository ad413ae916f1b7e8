using System.Diagnostics;
using System.Text.RegularExpressions;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Vts.Integration.Tests.Package;

/// <summary>The Debian package as an operator uses it, on this machine: <c>dpkg -i</c>, the unit's ExecStart run as
/// the unit says (systemd is not PID 1 here: the same command, user and working directory; the sandboxing lines are
/// not applied), a tape copied, an upgrade with copies due, <c>dpkg -r</c> and <c>dpkg -P</c>. It installs into
/// /usr/lib/vtsactors, /etc/vts and /var/lib/vts, adds the user vts, and takes all of it away again.</summary>
/// <remarks>The newer package of the upgrade is the built one repacked under a higher version: what is under test is
/// the packaging (maintainer scripts, the conffile, the state kept); a journal written by an earlier build is the
/// Upgrade tests' matter.</remarks>
public sealed partial class PackageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Unit = "/lib/systemd/system/vts-node.service";
    private const string Config = "/etc/vts/vts-node.hocon";
    private const string State = "/var/lib/vts";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _work = Directory.CreateTempSubdirectory("vts-pkg-").FullName;
    private Sshd _sshd = null!;

    private string Vault => Path.Combine(_work, "vault");

    public async Task InitializeAsync()
    {
        await RemoveInstalled();
        _sshd = await Sshd.Create();
        // The node runs as the vts user: the vault must be readable by it, as a real vault is by its group.
        Directory.CreateDirectory(Path.Combine(Vault, "POOL1"));
        await Sshd.Run("chmod", "-R", "a+rX", _work);
    }

    public async Task DisposeAsync()
    {
        await _sshd.DisposeAsync();
        await RemoveInstalled();
        Directory.Delete(_work, true);
    }

    [Fact]
    public async Task Installed_with_dpkg_it_copies_a_tape_keeps_due_copies_over_an_upgrade_and_removes_cleanly()
    {
        var package = BuiltPackage();
        var version = await Sshd.Run("dpkg-deb", "--field", package, "Version");
        var newer = await Repacked(package, version + ".1");

        // Install: the programs, the vts user, its state dir, the configuration readable by it alone.
        await Shell("dpkg", "-i", package);
        Assert.Equal($"vts-node {version}", await Shell("/usr/bin/vts-node", "--version"));
        var clock = Stopwatch.StartNew();
        Assert.Equal(version, await Sshd.Run("/usr/bin/vtsctl", "--version"));
        output.WriteLine($"vtsctl --version from the package: {clock.ElapsedMilliseconds} ms");
        Assert.Equal("vts:vts 750", await Sshd.Run("stat", "-c", "%U:%G %a", State));
        Assert.Equal("root:vts 640", await Sshd.Run("stat", "-c", "%U:%G %a", Config));
        // The example as shipped: valid once its two placeholders that must exist (vault, key) do.
        var placeholders = Path.Combine(_work, "placeholders.hocon");
        await File.WriteAllTextAsync(placeholders, $"vts {{ vault-root = \"{Vault}\", autocopy.targets.dr.private-key-file = \"{_sshd.ClientKey}\" }}");
        output.WriteLine(await Sshd.Run("/usr/bin/vts-node", "--check-config", "--config", Config, "--config", placeholders));
        var (exitCode, said) = await NodeProcess.RunToExit(["--check-config", "--config", Config], TimeSpan.FromSeconds(60));
        Assert.Equal((2, true), (exitCode, said.Contains("vts.vault-root")));

        var emsPort = Sshd.FreePort();
        var adminPort = Sshd.FreePort();
        await Configure(emsPort, adminPort);
        Assert.StartsWith("vts-node: configuration valid: node pkg-1, 1 pools", await Sshd.Run("/usr/bin/vts-node", "--check-config", "--config", Config));

        // The unit's own command: a tape copied.
        var node = await StartAsTheUnitSays();
        var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
        var first = TapeFiles.Write(Path.Combine(Vault, "POOL1", "K00001"), 300_000, seed: 1);
        await Sshd.Run("chmod", "a+r", Path.Combine(Vault, "POOL1", "K00001"));
        Assert.Equal("k-1", (await ems.Send(EmsClient.Mount("k-1", "POOL1", "K00001"))).GetProperty("ack").GetString());
        Assert.Equal("k-2", (await ems.Send(EmsClient.Dismount("k-2", "POOL1", "K00001"))).GetProperty("ack").GetString());
        await Wait.Until(() => AtTarget("K00001") == first, TimeSpan.FromSeconds(60), "K00001 copied by the installed node");

        // Copies due when the upgrade comes: the target is down.
        await _sshd.Stop();
        var owed = new Dictionary<string, string>();
        for (var i = 1; i <= 3; i++)
        {
            var volser = $"U0000{i}";
            owed[volser] = TapeFiles.Write(Path.Combine(Vault, "POOL1", volser), 100_000 + i, seed: 10 + i);
            await Sshd.Run("chmod", "a+r", Path.Combine(Vault, "POOL1", volser));
            Assert.Equal($"u-{i}", (await ems.Send(EmsClient.Dismount($"u-{i}", "POOL1", volser))).GetProperty("ack").GetString());
        }
        await Wait.Until(async () => await VtsCtl.Owed(node.AdminNode, "POOL1") == 3, TimeSpan.FromSeconds(60), "three copies owed before the upgrade");
        await Pools(node);
        ems.Dispose();

        // The upgrade, as systemd would see it: the node stopped with SIGTERM (KillSignal), the package replaced, the
        // node started again by the same unit.
        Assert.Equal(0, await node.Terminate(TimeSpan.FromSeconds(90)));
        await node.DisposeAsync();
        await Shell("dpkg", "-i", newer);
        Assert.Equal($"{version}.1", await Shell("dpkg-query", "-W", "-f", "${Version}", "vtsactors"));
        Assert.Contains($"127.0.0.1:{emsPort}", await File.ReadAllTextAsync(Config)); // the site's edits kept
        node = await StartAsTheUnitSays();
        await node.WaitUntilReady(StartTimeout);
        Assert.Equal(3, await VtsCtl.Owed(node.AdminNode, "POOL1"));
        await Pools(node);
        await _sshd.Start(); // the next attempts (every 3 s here) find it
        foreach (var (volser, sha) in owed)
            await Wait.Until(() => AtTarget(volser) == sha, TimeSpan.FromSeconds(90), $"{volser}, owed over the upgrade, copied");
        Assert.Equal(0, await node.Terminate(TimeSpan.FromSeconds(90)));
        await node.DisposeAsync();

        // Remove keeps the configuration and the journal; purge takes the configuration too, never the journal.
        await Shell("dpkg", "-r", "vtsactors");
        Assert.False(File.Exists("/usr/bin/vtsctl") || Directory.Exists("/usr/lib/vtsactors") || File.Exists(Unit));
        Assert.True(File.Exists(Config));
        Assert.True(File.Exists(Path.Combine(State, "journal.db")));
        await Shell("dpkg", "-P", "vtsactors");
        Assert.False(Directory.Exists("/etc/vts"));
        Assert.True(File.Exists(Path.Combine(State, "journal.db")));
        Assert.False(await Installed(), "dpkg still lists vtsactors after the purge");
    }

    /// <summary>A command as an operator types it: it and what it said go to the test's output, which is the install
    /// and upgrade transcript.</summary>
    private async Task<string> Shell(string file, params string[] args)
    {
        var said = await Sshd.Run(file, args);
        output.WriteLine($"$ {file} {string.Join(' ', args)}\n{said}");
        return said;
    }

    private async Task Pools(NodeProcess node)
    {
        var pools = await VtsCtl.Run("--node", node.AdminNode, "autocopy", "pools");
        output.WriteLine($"$ vtsctl autocopy pools\n{pools.Out}");
    }

    /// <summary>The configuration a site writes over the example: this test's vault, target and ports.</summary>
    private async Task Configure(int emsPort, int adminPort)
    {
        Directory.CreateDirectory("/etc/vts/keys");
        File.Copy(_sshd.ClientKey, "/etc/vts/keys/id_ed25519", overwrite: true);
        await Sshd.Run("chown", "-R", "vts:vts", "/etc/vts/keys");
        await Sshd.Run("chmod", "600", "/etc/vts/keys/id_ed25519");
        await File.WriteAllTextAsync(Config, $$"""
            vts {
              node-name = "pkg-1"
              state-dir = "{{State}}"
              vault-root = "{{Vault}}"
              ems.listen = "127.0.0.1:{{emsPort}}"
              admin.listen = "127.0.0.1:{{adminPort}}"
              autocopy {
                retry { interval = 3s, max-attempts = 12 }
                max-concurrent-transfers = 2
                targets {
                  dr {
                    host = "127.0.0.1", port = {{_sshd.Port}}, user = "{{_sshd.User}}"
                    private-key-file = "/etc/vts/keys/id_ed25519"
                    host-key-sha256 = "{{_sshd.HostKeyFingerprint}}"
                    vault-root = "{{_sshd.VaultRoot}}"
                  }
                }
                pools { POOL1 { target = dr, target-pool = DRPOOL1 } }
              }
            }
            """);
    }

    /// <summary>The installed unit's ExecStart, as its User and in its WorkingDirectory, with the environment systemd
    /// gives a service of that user. setpriv runs the command in its own process (SIGTERM and SIGKILL reach the node).</summary>
    private async Task<NodeProcess> StartAsTheUnitSays()
    {
        var unit = await File.ReadAllLinesAsync(Unit);
        string Key(string key) => unit.Single(l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..].Trim();
        var (user, group) = (Key("User"), Key("Group"));
        var command = Key("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var home = (await Sshd.Run("getent", "passwd", user)).Split(':')[5];
        output.WriteLine($"ExecStart as {user}:{group} in {Key("WorkingDirectory")}: {string.Join(' ', command)}");
        return NodeProcess.StartCommand("setpriv",
            ["--reuid", user, "--regid", group, "--init-groups", "--", .. command], Key("WorkingDirectory"),
            new Dictionary<string, string> { ["HOME"] = home, ["USER"] = user, ["LOGNAME"] = user });
    }

    private string? AtTarget(string volser)
    {
        var path = Path.Combine(_sshd.VaultRoot, "DRPOOL1", volser);
        return File.Exists(path) ? TapeFiles.Sha256(path) : null;
    }

    /// <summary>build.ps1 test builds it (build.ps1 package alone, too) and names it in VTS_PACKAGE.</summary>
    private static string BuiltPackage()
    {
        if (Environment.GetEnvironmentVariable("VTS_PACKAGE") is { Length: > 0 } named) return named;
        var built = new DirectoryInfo(Path.Combine(NodeProcess.RepositoryRoot, "artifacts")).GetFiles("vtsactors_*_amd64.deb")
            .OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault();
        return built?.FullName ?? throw new FileNotFoundException("no package built: dotnet pwsh ./build.ps1 package");
    }

    private async Task<string> Repacked(string package, string version)
    {
        var tree = Path.Combine(_work, "repack");
        await Sshd.Run("dpkg-deb", "-R", package, tree);
        var control = Path.Combine(tree, "DEBIAN", "control");
        await File.WriteAllTextAsync(control, VersionLine().Replace(await File.ReadAllTextAsync(control), $"Version: {version}"));
        var newer = Path.Combine(_work, $"vtsactors_{version}_amd64.deb");
        await Sshd.Run("dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree, newer);
        return newer;
    }

    private static async Task<bool> Installed()
    {
        try
        {
            return (await Sshd.Run("dpkg-query", "-W", "-f", "${db:Status-Abbrev}", "vtsactors")).Trim() is not ("un" or "pn" or "");
        }
        catch (InvalidOperationException)
        {
            return false; // dpkg-query: no package found matching vtsactors
        }
    }

    /// <summary>What an earlier run left (an aborted test): the package purged, the state and user gone.</summary>
    private static async Task RemoveInstalled()
    {
        await Sshd.Run("sh", "-c", "dpkg -P vtsactors >/dev/null 2>&1 || true; rm -rf /var/lib/vts /etc/vts; userdel vts >/dev/null 2>&1 || true");
    }

    [GeneratedRegex("^Version: .*$", RegexOptions.Multiline)]
    private static partial Regex VersionLine();
}
