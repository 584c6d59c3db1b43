using System.Globalization;

namespace FlowDiffusion.Cli.Bench;

/// <summary>The process's peak resident set (Linux <c>VmHWM</c>; elsewhere .NET's peak working set).</summary>
internal static class PeakMemory
{
    public static long Bytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (var line in File.ReadLines(status))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return StatusBytes(line);
                }
            }
        }

        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    /// <summary>The amount a <c>/proc/self/status</c> line such as <c>VmHWM:  1234 kB</c> gives, in bytes.</summary>
    public static long StatusBytes(string line) =>
        long.Parse(line[(line.IndexOf(':') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;

    /// <summary>The 1-, 5- and 15-minute load averages, or "unknown".</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
