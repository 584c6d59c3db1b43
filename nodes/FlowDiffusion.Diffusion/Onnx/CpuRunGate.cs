namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Lets one CPU session run at a time among those at the default thread count (one thread per physical core, in a pool of
/// each session's own or the shared one), so that runs which would overlap — the prompt encodes of a run, the steps of
/// concurrent jobs — take turns with every core instead of sharing the cores among more busy threads than there are.
/// CPU-bound runs on the same cores gain nothing from overlapping: two 256² txt2img jobs at once in one server finished
/// 3 s (first) and 1 s (second) sooner taking turns (docs/benchmarks.md). Sessions given their own thread count
/// (<c>threads=N</c>), a default count below the cores (<see cref="OnnxEnvironment.ThreadsVariable"/>: runs then have
/// cores to overlap on) and GPU sessions are not gated; <see cref="Variable"/> <c>=parallel</c> turns the gate off.
/// </summary>
/// <remarks>
/// Plugins load their own copy of this assembly, so the gate is <see cref="ProcessWide"/>. Two copies creating it at the
/// same first moment could each hand out their own for a while; that costs only the overlap the gate prevents, and every
/// run releases the gate it took.
/// </remarks>
internal static class CpuRunGate
{
    /// <summary>The environment variable that turns the gate off (<c>parallel</c>).</summary>
    public const string Variable = "FLOWDIFFUSION_CPU_RUNS";

    private const string Key = "FlowDiffusion.OnnxRuntime.CpuRunGate";
    private static readonly Lazy<bool> Enabled = new(() =>
        !string.Equals(Environment.GetEnvironmentVariable(Variable)?.Trim(), "parallel", StringComparison.OrdinalIgnoreCase));

    /// <summary>The gate a run with <paramref name="options"/> takes, or null when such runs are not gated.</summary>
    /// <param name="options">The session's options.</param>
    public static SemaphoreSlim? For(OnnxSessionOptions options) =>
        Enabled.Value && options.IntraOpThreads == 0 && options.Threads >= CpuCores.ForThisProcess
        && string.Equals(ExecutionProviders.Normalize(options.Provider), ExecutionProviders.Normalize("cpu"), StringComparison.Ordinal)
            ? Shared()
            : null;

    private static SemaphoreSlim Shared() => ProcessWide.GetOrCreate(Key, () => new SemaphoreSlim(1, 1));
}
