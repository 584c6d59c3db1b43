using FlowDiffusion.Sdk;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// Which sessions' runs take <see cref="CpuTurns"/>: CPU sessions at the default thread count (one thread per physical
/// core, in a pool of each session's own or the shared one), so that runs which would overlap — the prompt encodes of a
/// run, the steps of concurrent jobs — take turns with every core instead of sharing the cores among more busy threads
/// than there are. CPU-bound runs on the same cores gain nothing from overlapping (docs/benchmarks.md). Sessions given
/// their own thread count (<c>threads=N</c>), a default count below the cores (<see cref="OnnxEnvironment.ThreadsVariable"/>:
/// runs then have cores to overlap on) and GPU sessions do not take turns; <see cref="Variable"/> <c>=parallel</c> turns
/// the turns off.
/// </summary>
internal static class CpuRunGate
{
    /// <summary>The environment variable that turns the turns off (<c>parallel</c>).</summary>
    public const string Variable = "FLOWDIFFUSION_CPU_RUNS";

    private static readonly Lazy<bool> Enabled = new(() =>
        !string.Equals(Environment.GetEnvironmentVariable(Variable)?.Trim(), "parallel", StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether runs of a session with <paramref name="options"/> take CPU turns.</summary>
    /// <param name="options">The session's options.</param>
    public static bool Applies(OnnxSessionOptions options) =>
        Enabled.Value && options.IntraOpThreads == 0 && options.Threads >= CpuCores.ForThisProcess && options.IsCpu;
}
