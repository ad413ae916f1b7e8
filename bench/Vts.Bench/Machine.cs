using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Vts.Bench;

public static class Machine
{
    public static string Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";
        var memory = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]
            : "0";
        return $"{Environment.ProcessorCount} cores ({cpu}), {long.Parse(memory) / 1024 / 1024} GiB, {RuntimeInformation.OSDescription}, " +
               $".NET {Environment.Version}, {Run("ssh", "-V")}";
    }

    public static string Run(string file, params string[] args)
    {
        var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return text.Trim();
    }

    /// <summary>CPU time the whole machine spent busy so far (every process, the kernel included), from /proc/stat.</summary>
    public static double BusyCpuSeconds()
    {
        var ticks = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        // user, nice, system, idle, iowait, irq, softirq, steal: all but idle and iowait; USER_HZ is 100 on Linux.
        return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / 100.0;
    }
}
