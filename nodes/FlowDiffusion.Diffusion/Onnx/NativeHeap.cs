using System.Globalization;
using System.Runtime.InteropServices;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// On Linux with glibc, fixes malloc's mmap threshold before the first ONNX Runtime session, so that every native block
/// above it is mapped on its own and handed back to the system when freed. glibc's default threshold starts at 128 KiB
/// but rises to the size of each mapped block freed, up to 32 MiB; blocks below it then come from the heap, whose freed
/// space mostly stays resident. Model loading frees many such blocks (weights read, then packed), and with the default
/// SDXL's 1024² run peaked 2.9–3.5 GB higher (docs/benchmarks.md, "glibc's mmap threshold").
/// <see cref="Variable"/> sets another threshold in bytes or <c>dynamic</c> for glibc's own; a threshold the user gave
/// glibc (<c>MALLOC_MMAP_THRESHOLD_</c>) is left as it is.
/// </summary>
public static partial class NativeHeap
{
    /// <summary>The environment variable: a threshold in bytes (0 to 32 MiB), or <c>dynamic</c>.</summary>
    public const string Variable = "FLOWDIFFUSION_MMAP_THRESHOLD";

    /// <summary>The threshold set unless <see cref="Variable"/> says otherwise: glibc's own starting value, kept.</summary>
    public const int DefaultThreshold = 128 * 1024;

    private const int MostThreshold = 32 * 1024 * 1024;

    private const string Key = "FlowDiffusion.NativeHeap.MmapThreshold";

    // M_MMAP_THRESHOLD in glibc's malloc.h.
    private const int MmapThresholdParameter = -3;

    /// <summary>
    /// The mmap threshold this process runs with, as text: bytes, <c>dynamic</c> (glibc's default), <c>set by
    /// MALLOC_MMAP_THRESHOLD_</c>, or <c>not glibc</c>. The first call sets it; later calls report it.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="Variable"/> holds something else; the message names it.</exception>
    public static string Threshold => ProcessWide.GetOrCreate(Key, Configure);

    /// <summary>Reads the variable's value: null or empty gives <see cref="DefaultThreshold"/>, <c>dynamic</c> gives null.</summary>
    /// <exception cref="InvalidOperationException">Neither a byte count from 0 to 32 MiB nor <c>dynamic</c>; the message names the variable.</exception>
    public static int? ThresholdFrom(string? value)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text)) return DefaultThreshold;
        if (string.Equals(text, "dynamic", StringComparison.OrdinalIgnoreCase)) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes <= MostThreshold
            ? bytes
            : throw new InvalidOperationException($"The environment variable {Variable} must be a byte count from 0 to {MostThreshold} or dynamic, not '{value}'; unset it for {DefaultThreshold}.");
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
