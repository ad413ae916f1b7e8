using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Vts.Testing;

/// <summary>A real vts-node process, as operators run it; killed with SIGKILL when a test says so.</summary>
public sealed partial class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<IPEndPoint> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Seen(e.Data);
        process.ErrorDataReceived += (_, e) => Seen(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"vts-node exited ({process.ExitCode}):\n{Output}"));
    }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Resident memory of the node process now, from /proc.</summary>
    public long ResidentBytes =>
        File.ReadLines($"/proc/{_process.Id}/status").Where(l => l.StartsWith("VmRSS:"))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024).FirstOrDefault();

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static NodeProcess Start(params string[] configFiles) => new(Process.Start(StartInfo(configFiles))!);

    /// <summary>One of several nodes sharing this machine (a cluster in a test or benchmark): with the workstation garbage
    /// collector, as README advises for nodes that share a machine. Three nodes each running the server collector on
    /// these 2 cores made every node's collections wait for the others': the cluster's ack p99 at 500 events/s was
    /// 67-101 ms with it, 13.5 ms without.</summary>
    public static NodeProcess StartBeside(params string[] configFiles)
    {
        var info = StartInfo(configFiles);
        info.Environment["DOTNET_gcServer"] = "0";
        return new NodeProcess(Process.Start(info)!);
    }

    /// <summary>A node started by a command line of its own (an installed package's unit, say), with the environment
    /// given added to this process's.</summary>
    public static NodeProcess StartCommand(string file, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        return new NodeProcess(Process.Start(info)!);
    }

    /// <summary>Runs a node expected to stop by itself (a bad configuration), returning its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunToExit(string[] args, TimeSpan timeout)
    {
        var info = StartInfo([]);
        info.ArgumentList.Clear();
        info.ArgumentList.Add(NodeDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    public async Task<IPEndPoint> WaitUntilReady(TimeSpan timeout)
    {
        try
        {
            return await _ready.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            // A node that never becomes ready says why in its own output: keep the end of it with the failure.
            var lines = Output.Split('\n');
            throw new TimeoutException($"vts-node (pid {_process.Id}) not ready within {timeout}; the end of its output:\n" +
                string.Join('\n', lines.TakeLast(60)));
        }
    }

    /// <summary>SIGKILL: no shutdown hook runs, nothing is flushed; only what was journaled survives.</summary>
    public async Task Kill()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as systemd stops a service: the node leaves the cluster and hands its pools over. Its exit code.</summary>
    public async Task<int> Terminate(TimeSpan timeout)
    {
        await Signal("TERM");
        return await Exited(timeout);
    }

    /// <summary>SIGSTOP: the node neither hears nor says anything, as in a long garbage collection or a stalled VM, until
    /// <see cref="Resume"/>.</summary>
    public Task Pause() => Signal("STOP");

    /// <summary>SIGCONT: a paused node runs on from where it was.</summary>
    public Task Resume() => Signal("CONT");

    /// <summary>The node's exit code once it has stopped by itself; fails if it is still running after the timeout.</summary>
    public async Task<int> Exited(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    private async Task Signal(string name)
    {
        using var kill = Process.Start("kill", [$"-{name}", _process.Id.ToString()])!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -{name} {_process.Id} failed ({kill.ExitCode})");
    }

    public async ValueTask DisposeAsync()
    {
        await Kill();
        _process.Dispose();
    }

    private void Seen(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        var ready = Ready().Match(line);
        if (!ready.Success) return;
        AdminUrl = ready.Groups["admin"].Value;
        _ready.TrySetResult(IPEndPoint.Parse(ready.Groups["ems"].Value));
    }

    private static ProcessStartInfo StartInfo(string[] configFiles)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(NodeDll);
        foreach (var file in configFiles)
        {
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(file);
        }
        return info;
    }

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VtsActors.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
        }
    }

    /// <summary>A program built beside these tests, in the same configuration (Debug or Release).</summary>
    public static string Built(string project, string dll)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var path = Path.Combine(RepositoryRoot, "src", project, "bin", configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"build it first: {path}");
    }

    /// <summary>
    /// The node as shipped when build.ps1 published it (ReadyToRun, named by VTS_NODE_DLL); otherwise the one built
    /// beside these tests, for runs from an IDE.
    /// </summary>
    public static string NodeDll =>
        Environment.GetEnvironmentVariable("VTS_NODE_DLL") is { Length: > 0 } published
            ? (File.Exists(published) ? published : throw new FileNotFoundException($"VTS_NODE_DLL names no file: {published}"))
            : Built("Vts.Node", "vts-node.dll");

    /// <summary>http://HOST:PORT of the admin API, known once the node is ready.</summary>
    public string AdminUrl { get; private set; } = "";

    /// <summary>HOST:PORT of the admin API, as vtsctl's --node takes it.</summary>
    public string AdminNode => new Uri(AdminUrl).Authority;

    [GeneratedRegex(@"ready: EMS on (?<ems>\S+) admin on (?<admin>\S+)")]
    private static partial Regex Ready();
}
