using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The process's ONNX Runtime environment, created with one intra-op thread pool that every session left at the default
/// thread count shares (<see cref="CpuCores"/> threads). With a pool per session, sessions that run at the same time — the
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
    private const string SharedPoolKey = "FlowDiffusion.OnnxRuntime.SharedIntraOpThreads";
    private static readonly Lock Gate = new();

    /// <summary>
    /// The shared intra-op pool's threads, or 0 when the environment has none and each session gets its own pool.
    /// </summary>
    public static int SharedIntraOpThreads
    {
        get
        {
            Ensure();
            return AppContext.GetData(SharedPoolKey) is int threads ? threads : 0;
        }
    }

    /// <summary>ONNX Runtime's environment, created with the shared pool if nothing created it before.</summary>
    public static OrtEnv Instance
    {
        get
        {
            Ensure();
            return OrtEnv.Instance();
        }
    }

    private static void Ensure()
    {
        if (AppContext.GetData(SharedPoolKey) is int)
        {
            return;
        }
        lock (Gate)
        {
            if (AppContext.GetData(SharedPoolKey) is int)
            {
                return;
            }
            AppContext.SetData(SharedPoolKey, Create());
        }
    }

    // The shared pool's thread count, or 0 where the environment already existed (its thread settings are unknown).
    private static int Create()
    {
        if (OrtEnv.IsCreated)
        {
            return 0;
        }
        var threads = CpuCores.ForThisProcess;
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
