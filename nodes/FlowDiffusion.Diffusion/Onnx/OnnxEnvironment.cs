using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The process's ONNX Runtime environment, created — where <see cref="PoolVariable"/> asks for it — with one intra-op thread
/// pool that every session left at the default thread count shares (<see cref="DefaultThreads"/>: one per physical core unless <see cref="ThreadsVariable"/> says). With a pool per session, sessions that run at the same time — the
/// two prompt encodes, concurrent jobs, parallel tests — asked for more spinning threads than the machine has cores and
/// slowed each other down (issue 17).
/// </summary>
/// <remarks>
/// ONNX Runtime takes thread-pool settings only when its environment is created, once per process. Every FlowDiffusion path
/// to ONNX Runtime comes through here first; where something else created the environment before (an embedding
/// application), sessions keep their own pools as before. Plugins load their own copy of this assembly but share ONNX
/// Runtime's, so the outcome is recorded in <see cref="AppContext"/>, which every copy reads.
/// </remarks>
internal static class OnnxEnvironment
{
    /// <summary>
    /// The environment variable that sets the default thread count (each session's pool, or the shared pool's size)
    /// instead of one per physical core: for a machine shared with other work, or to measure with fewer threads.
    /// </summary>
    public const string ThreadsVariable = "FLOWDIFFUSION_ORT_THREADS";

    /// <summary>
    /// The environment variable that opts into the shared pool (<c>shared</c>). Off by default: with it, SDXL's 1024² run
    /// peaked at 20.05 GB against 16.58 GB with a pool per session (docs/benchmarks.md, "One pool, measured on SDXL").
    /// </summary>
    public const string PoolVariable = "FLOWDIFFUSION_ORT_POOL";

    private const string SharedPoolKey = "FlowDiffusion.OnnxRuntime.SharedIntraOpThreads";
    private static readonly Lazy<int> Configured = new(() => ThreadsFrom(Environment.GetEnvironmentVariable(ThreadsVariable), CpuCores.ForThisProcess));

    /// <summary>The threads a session at the default count runs on: <see cref="ThreadsVariable"/> if set, else one per physical core.</summary>
    /// <exception cref="InvalidOperationException">The variable is set to something other than a count <see cref="IntraOpThreadCount"/> takes.</exception>
    public static int DefaultThreads => Configured.Value;

    /// <summary>Reads the variable's value: null or empty gives <paramref name="fallback"/>.</summary>
    /// <exception cref="InvalidOperationException">Not a count <see cref="IntraOpThreadCount"/> takes; the message names the variable.</exception>
    public static int ThreadsFrom(string? value, int fallback)
    {
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        return IntraOpThreadCount.TryParse(value.Trim(), out var threads)
            ? threads
            : throw new InvalidOperationException($"The environment variable {ThreadsVariable} must be {IntraOpThreadCount.Expected}, not '{value}'; unset it for one thread per physical core.");
    }

    /// <summary>
    /// The shared intra-op pool's threads, or 0 when the environment has none and each session gets its own pool.
    /// </summary>
    public static int SharedIntraOpThreads => ProcessWide.GetOrCreate(SharedPoolKey, Create);

    /// <summary>ONNX Runtime's environment, created with the shared pool if nothing created it before.</summary>
    public static OrtEnv Instance
    {
        get
        {
            _ = SharedIntraOpThreads;
            return OrtEnv.Instance();
        }
    }

    // The shared pool's thread count, or 0 where the environment already existed (its thread settings are unknown).
    private static int Create()
    {
        // Before ONNX Runtime allocates anything.
        _ = NativeHeap.Threshold;
        if (OrtEnv.IsCreated || !string.Equals(Environment.GetEnvironmentVariable(PoolVariable)?.Trim(), "shared", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }
        var threads = DefaultThreads;
        using var threading = new OrtThreadingOptions { GlobalIntraOpNumThreads = threads, GlobalInterOpNumThreads = 1 };
        var options = new EnvironmentCreationOptions { threadOptions = threading, logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING };
        try
        {
            OrtEnv.CreateInstanceWithOptions(ref options);
            return threads;
        }
        catch (OnnxRuntimeException)
        {
            // Created by another thread between the check and here, without the shared pool.
            return 0;
        }
    }
}
