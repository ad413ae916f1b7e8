using System.Net;
using System.Text.RegularExpressions;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>A vts-node process configured for one benchmark: its own state, vault and pools.</summary>
public sealed partial class BenchNode : IAsyncDisposable
{
    public string Dir { get; }
    public string Vault => Path.Combine(Dir, "vault");
    public string Config => Path.Combine(Dir, "node.hocon");
    public NodeProcess? Process { get; private set; }
    public IPEndPoint Ems { get; private set; } = null!;

    public BenchNode(string scratch, string name, int port, string user, string key, string fingerprint, string targetVault,
        int pools = 1, string retry = "5m", int slots = 2, string connectTimeout = "15s", string host = "127.0.0.1", string targetExtra = "")
    {
        Dir = Path.Combine(scratch, name);
        Directory.CreateDirectory(Vault);
        var poolLines = string.Join("\n", Enumerable.Range(0, pools).Select(i => $"      {PoolName(i)} {{ target = dr, target-pool = DR{PoolName(i)} }}"));
        File.WriteAllText(Config, $$"""
            vts {
              node-name = "{{name}}"
              state-dir = "{{Dir}}/state"
              vault-root = "{{Vault}}"
              ems.listen = "127.0.0.1:0"
              ems.ack-timeout = 120s
              admin.listen = "127.0.0.1:0"
              autocopy {
                retry { interval = {{retry}}, max-attempts = 12 }
                max-concurrent-transfers = {{slots}}
                targets {
                  dr {
                    host = "{{host}}", port = {{port}}, user = "{{user}}"
                    private-key-file = "{{key}}"
                    host-key-sha256 = "{{fingerprint}}"
                    vault-root = "{{targetVault}}"
                    connect-timeout = {{connectTimeout}}
                    {{targetExtra}}
                  }
                }
                pools {
            {{poolLines}}
                }
              }
            }
            akka.loglevel = WARNING
            """);
    }

    public static string PoolName(int i) => $"P{i:D3}";

    public async Task<TimeSpan> Start()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Process = NodeProcess.Start(Config);
        Ems = await Process.WaitUntilReady(TimeSpan.FromMinutes(10));
        return clock.Elapsed;
    }

    public async Task Kill()
    {
        if (Process is null) return;
        await Process.Kill();
        await Process.DisposeAsync();
        Process = null;
    }

    /// <summary>Current value of a metric from the node's /metrics (0 when it has no sample yet).</summary>
    public Task<double> Metric(string name, string labels) => Metric(Process!, name, labels);

    /// <summary>Current value of a metric from any node's /metrics (0 when it has no sample yet).</summary>
    public static async Task<double> Metric(NodeProcess node, string name, string labels)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(node.AdminUrl + "/metrics");
        var m = Regex.Match(text, "^" + Regex.Escape(name + "{" + labels + "}") + @" (\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Waits until the node has settled after a burst: under a tenth of a core for half a second (CPU time
    /// from /proc), so a steady-rate figure is not the tail of the burst before it.</summary>
    public Task WaitUntilQuiet(TimeSpan max) => WaitUntilQuiet(Process!, max);

    public static async Task WaitUntilQuiet(NodeProcess node, TimeSpan max)
    {
        long CpuTicks()
        {
            // utime and stime, fields 14 and 15; the command name (field 2) is in parentheses and may hold spaces.
            var stat = File.ReadAllText($"/proc/{node.ProcessId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11]) + long.Parse(fields[12]);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = CpuTicks();
        while (clock.Elapsed < max)
        {
            await Task.Delay(500);
            var now = CpuTicks();
            if (now - before < 5) return; // USER_HZ is 100: 5 ticks in 0.5 s is a tenth of a core
            before = now;
        }
    }

    public async ValueTask DisposeAsync() => await Kill();
}
