using System.Globalization;
using System.Runtime.InteropServices;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// glibc's malloc on Linux, where ONNX Runtime's native memory comes from. Blocks above its mmap threshold are mapped on
/// their own and go back to the system when freed; the threshold starts at 128 KiB but rises to the size of each mapped
/// block freed, up to 32 MiB, and blocks below it come from the heap, where freed space mostly stays resident. Loading
/// models frees many such blocks (weights read, then packed), and so does unloading a session. <see cref="Variable"/>
/// fixes the threshold, in bytes, before the first ONNX Runtime session: at 128 KiB SDXL's 1024² run peaked at 11.3 GB
/// instead of 14.2–15.8 GB, for 20–33 s more of a 5.4-minute cold run (docs/benchmarks.md, "glibc's mmap threshold").
/// Opt-in, as that cost falls on every cold start. A threshold given to glibc itself (<c>MALLOC_MMAP_THRESHOLD_</c>) is
/// left as it is; other C libraries are not touched.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>The environment variable: a threshold in bytes (0 to 32 MiB) to fix, or <c>dynamic</c> (the default) for glibc's own.</summary>
    public const string Variable = "FLOWDIFFUSION_MMAP_THRESHOLD";

    private const int MostThreshold = 32 * 1024 * 1024;

    private const string Key = "FlowDiffusion.NativeHeap.MmapThreshold";

    // M_MMAP_THRESHOLD in glibc's malloc.h.
    private const int MmapThresholdParameter = -3;

    /// <summary>
    /// The mmap threshold this process runs with, as text: bytes (fixed by <see cref="Variable"/>), <c>dynamic</c> (glibc's
    /// own), <c>set by MALLOC_MMAP_THRESHOLD_</c>, or <c>not glibc</c>. The first call sets it; later calls report it.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="Variable"/> holds something else; the message names it.</exception>
    public static string Threshold => ProcessWide.GetOrCreate(Key, Configure);

    /// <summary>Reads the variable's value: a byte count to fix; null, empty or <c>dynamic</c> gives null (glibc's own).</summary>
    /// <exception cref="InvalidOperationException">Neither a byte count from 0 to 32 MiB nor <c>dynamic</c>; the message names the variable.</exception>
    public static int? ThresholdFrom(string? value)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text) || string.Equals(text, "dynamic", StringComparison.OrdinalIgnoreCase)) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes <= MostThreshold
            ? bytes
            : throw new InvalidOperationException($"The environment variable {Variable} must be a byte count from 0 to {MostThreshold} or dynamic, not '{value}'; unset it for glibc's own threshold.");
    }

    private static string Configure()
    {
        var threshold = ThresholdFrom(Environment.GetEnvironmentVariable(Variable));
        if (!OperatingSystem.IsLinux()) return "not glibc";
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_"))) return "set by MALLOC_MMAP_THRESHOLD_";
        if (threshold is not { } bytes) return "dynamic";
        try
        {
            return Mallopt(MmapThresholdParameter, bytes) == 1 ? bytes.ToString(CultureInfo.InvariantCulture) : "not glibc";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and other C libraries without glibc's libc.so.6.
            return "not glibc";
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}
