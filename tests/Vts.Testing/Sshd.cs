using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.Domain;
using Vts.Testing.Wan;

namespace Vts.Testing;

/// <summary>A real OpenSSH server on 127.0.0.1 with keys generated for this run: the recipient VTS. Behind a
/// <see cref="WanLink"/>, it runs in the link's far namespace and listens on the far address.</summary>
public sealed class Sshd : IAsyncDisposable
{
    public string Dir { get; }
    public int Port { get; }
    public WanLink? Behind { get; }
    public string Host => Behind?.Far.ToString() ?? "127.0.0.1";
    public string User { get; } = Environment.UserName;
    public string ClientKey => Path.Combine(Dir, "client_key");
    public string HostKey => Path.Combine(Dir, "host_key");
    public string VaultRoot => Path.Combine(Dir, "target-vault");
    public string HostKeyFingerprint { get; }
    private Process? _process;

    private Sshd(string dir, int port, string fingerprint, WanLink? behind)
    {
        Dir = dir;
        Port = port;
        Behind = behind;
        HostKeyFingerprint = fingerprint;
    }

    /// <summary>Makes keys and config; <paramref name="start"/> = false leaves the server down (a target that is off).</summary>
    /// <param name="behind">a link to run behind (the server then runs in its far namespace).</param>
    public static async Task<Sshd> Create(bool start = true, int? port = null, WanLink? behind = null)
    {
        var dir = Directory.CreateTempSubdirectory("vts-sshd-").FullName;
        await Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir, "host_key"));
        await Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir, "client_key"));
        File.Copy(Path.Combine(dir, "client_key.pub"), Path.Combine(dir, "authorized_keys"));
        var fingerprint = (await Run("ssh-keygen", "-lf", Path.Combine(dir, "host_key.pub"))).Split(' ')[1];
        var sshd = new Sshd(dir, port ?? FreePort(), fingerprint, behind);
        Directory.CreateDirectory(sshd.VaultRoot);
        await File.WriteAllTextAsync(Path.Combine(dir, "sshd_config"), $"""
            Port {sshd.Port}
            ListenAddress {sshd.Host}
            HostKey {sshd.HostKey}
            AuthorizedKeysFile {Path.Combine(dir, "authorized_keys")}
            PidFile {Path.Combine(dir, "sshd.pid")}
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            Subsystem sftp internal-sftp
            MaxStartups 100
            MaxSessions 100
            """);
        if (start) await sshd.Start();
        return sshd;
    }

    /// <summary>Restricts the client's key to SFTP (<c>command="internal-sftp"</c> in authorized_keys), as a recipient
    /// VTS does for a key that may do nothing else: every command it asks for runs the SFTP server instead.</summary>
    public async Task RestrictToSftp()
    {
        var key = await File.ReadAllTextAsync(Path.Combine(Dir, "client_key.pub"));
        await File.WriteAllTextAsync(Path.Combine(Dir, "authorized_keys"), $"restrict,command=\"internal-sftp\" {key}");
    }

    /// <summary>Makes the target keep other bytes than it acknowledges: its SFTP server (OpenSSH's behind a small proxy,
    /// <c>CorruptingSftpServer.py</c>) flips one bit of the first write that covers byte <paramref name="offset"/> of a
    /// file, writes that and answers OK. Restarts the server.</summary>
    public async Task CorruptWriteAt(long offset)
    {
        var script = Path.Combine(Dir, "corrupting-sftp-server.py");
        await using (var resource = typeof(Sshd).Assembly.GetManifestResourceStream("Vts.Testing.CorruptingSftpServer.py")!)
        await using (var file = File.Create(script))
            await resource.CopyToAsync(file);
        var config = Path.Combine(Dir, "sshd_config");
        var settings = await File.ReadAllTextAsync(config);
        await File.WriteAllTextAsync(config, SubsystemReplaced(settings, $"/usr/bin/python3 {script} {offset} /usr/lib/openssh/sftp-server"));
        await Stop();
        await Start();
    }

    /// <summary>The configuration with another SFTP server; fails if it has none to replace (else a test of that server
    /// would pass against the ordinary one).</summary>
    private static string SubsystemReplaced(string settings, string command)
    {
        const string ordinary = "Subsystem sftp internal-sftp";
        if (!settings.Contains(ordinary)) throw new InvalidOperationException($"sshd_config has no '{ordinary}' to replace");
        return settings.Replace(ordinary, $"Subsystem sftp {command}");
    }

    /// <summary>Lets each SFTP session open at most about <paramref name="files"/> files (OpenSSH's sftp-server under
    /// <c>ulimit -n</c>; it answers an open beyond that with a failure), as a server with a handle limit does. Restarts
    /// the server.</summary>
    public async Task LimitSftpOpenFiles(int files)
    {
        var config = Path.Combine(Dir, "sshd_config");
        var settings = await File.ReadAllTextAsync(config);
        // sshd runs a subsystem's command through the user's shell.
        await File.WriteAllTextAsync(config, SubsystemReplaced(settings, $"ulimit -n {files} && exec /usr/lib/openssh/sftp-server"));
        await Stop();
        await Start();
    }

    public async Task Start()
    {
        if (Environment.UserName == "root") Directory.CreateDirectory("/run/sshd"); // privilege separation needs it
        string[] args = ["-D", "-e", "-f", Path.Combine(Dir, "sshd_config")];
        var (file, arguments) = Behind?.InNamespace("/usr/sbin/sshd", args) ?? ("/usr/sbin/sshd", args);
        var info = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _process = Process.Start(info)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"sshd exited with {_process.ExitCode}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Parse(Host), Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("sshd did not start listening");
    }

    /// <summary>Cuts every open session without stopping the listener: every process below it (the per-connection
    /// monitor, the session's own sshd, and the commands it runs), not only its children, since the session's sshd
    /// outlives a monitor killed alone.</summary>
    public Task CutConnections() => Signal(9);

    /// <summary>Every session stops where it is (SIGSTOP): the sessions' sshd processes read nothing more, so the
    /// sender's TCP window closes (a zero window, as a stuck target gives), until <see cref="ResumeSessions"/>.</summary>
    public Task PauseSessions() => Signal(19);

    public Task ResumeSessions() => Signal(18);

    private async Task Signal(int signal)
    {
        if (_process is null || Descendants(_process.Id) is not { Count: > 0 } sessions) return;
        // One kill(1) for all of them; one that ended meanwhile makes it fail for that one alone.
        await Run("kill", [$"-{signal}", .. sessions.Select(pid => pid.ToString())]).ContinueWith(_ => { });
    }

    /// <summary>The processes below <paramref name="root"/>, from each process's parent in /proc.</summary>
    private static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        }
        var found = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var parent))
            foreach (var (pid, ppid) in parents)
                if (ppid == parent) { found.Add(pid); frontier.Enqueue(pid); }
        return found;
    }

    public async Task Stop()
    {
        if (_process is null) return;
        await CutConnections();
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process = null;
    }

    public TargetSettings Target(string name = "dr", HostKeyPin? pin = null) => new(
        TargetName.Parse(name), Host, Port, User, ClientKey, pin ?? new HostKeyPin(HostKeyFingerprint, null),
        VaultRoot, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        await Stop();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static async Task<string> Run(string file, params string[] args)
    {
        var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {error}");
        return output.Trim();
    }
}
