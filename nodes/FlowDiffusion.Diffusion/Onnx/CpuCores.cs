using System.Globalization;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// How many threads ONNX Runtime's intra-op pool gets when the options leave it open: one per physical core this process
/// may run on. ONNX Runtime's own default gave one thread on a 2-core Linux VM without SMT (it halves the logical count
/// there), so every session ran on one core of two; a 2048² MatMul reached 187 GFLOP/s with it and 380 with two threads
/// (issue 17, docs/benchmarks.md "Two threads").
/// </summary>
internal static class CpuCores
{
    private static readonly Lazy<int> Detected = new(() => Count("/sys/devices/system/cpu", AllowedCpus(), Environment.ProcessorCount));

    /// <summary>The physical cores of the CPUs this process may run on, at most <see cref="Environment.ProcessorCount"/>.</summary>
    public static int ForThisProcess => Detected.Value;

    /// <summary>
    /// Counts distinct (package, core) pairs among <paramref name="cpus"/> in a Linux sysfs CPU folder; where the topology
    /// cannot be read (another OS, a locked-down container) every allowed CPU counts. Never more than
    /// <paramref name="limit"/> (the CPUs a cgroup quota grants), never less than one.
    /// </summary>
    /// <param name="sysfsCpuFolder">Usually <c>/sys/devices/system/cpu</c>.</param>
    /// <param name="cpus">The logical CPU numbers the process may run on.</param>
    /// <param name="limit">The most threads worth running (.NET's processor count, which honours cgroup quotas).</param>
    public static int Count(string sysfsCpuFolder, IReadOnlyCollection<int> cpus, int limit)
    {
        var cores = new HashSet<(string Package, string Core)>();
        foreach (var cpu in cpus)
        {
            var topology = Path.Combine(sysfsCpuFolder, "cpu" + cpu.ToString(CultureInfo.InvariantCulture), "topology");
            var package = ReadId(Path.Combine(topology, "physical_package_id"));
            var core = ReadId(Path.Combine(topology, "core_id"));
            if (package is null || core is null)
            {
                cores.Clear();
                break;
            }
            cores.Add((package, core));
        }
        var count = cores.Count > 0 ? cores.Count : cpus.Count;
        return Math.Clamp(count, 1, Math.Max(1, limit));
    }

    // The CPUs in the process's affinity mask (Linux and Windows); every CPU .NET reports where the mask cannot be read.
    private static List<int> AllowedCpus()
    {
        try
        {
            if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
            {
                var mask = (long)System.Diagnostics.Process.GetCurrentProcess().ProcessorAffinity;
                var cpus = Enumerable.Range(0, 64).Where(i => (mask & (1L << i)) != 0).ToList();
                if (cpus.Count > 0)
                {
                    return cpus;
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException or System.ComponentModel.Win32Exception)
        {
        }
        return [.. Enumerable.Range(0, Environment.ProcessorCount)];
    }

    private static string? ReadId(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
