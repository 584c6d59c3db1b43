using System.Collections.Immutable;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// How an ONNX Runtime session is created. Part of the session cache key, so two components opened with equal
/// options share one session.
/// </summary>
/// <param name="Provider">
/// The execution provider by its short name: <c>cpu</c>, <c>cuda</c>, <c>directml</c>, <c>tensorrt</c> or
/// <c>coreml</c> (case-insensitive; ONNX Runtime's own names such as <c>CUDAExecutionProvider</c> are accepted too).
/// Anything but <c>cpu</c> needs the matching native package; see <see cref="ExecutionProviders"/>.
/// </param>
/// <param name="DeviceId">The accelerator index for GPU providers; ignored by <c>cpu</c> and <c>coreml</c>.</param>
/// <param name="IntraOpThreads">
/// Threads used inside one operator; 0 gives one per physical core the process may run on (<see cref="CpuCores"/>), not
/// ONNX Runtime's own default, which ran on one core of a 2-core VM, in one pool that every such session shares; the
/// environment variable <c>FLOWDIFFUSION_ORT_THREADS</c> sets that default.
/// <c>threads=N</c> in the provider parameter gives the session a pool of its own with N threads.
/// </param>
/// <param name="GraphOptimization">The graph optimisation level applied when the session is created.</param>
/// <param name="MemoryPattern">
/// ONNX Runtime's memory-pattern planning. Off by default: on an SD 1.5-sized UNet it added 2.2 GiB and made the
/// second step take 16–21 s (issue 17); the CPU arena stays on either way.
/// </param>
public sealed record OnnxSessionOptions(
    string Provider = "cpu",
    int DeviceId = 0,
    int IntraOpThreads = 0,
    GraphOptimizationLevel GraphOptimization = GraphOptimizationLevel.ORT_ENABLE_ALL,
    bool MemoryPattern = false)
{
    /// <summary>The default: CPU provider, one thread per physical core, all graph optimisations, no memory pattern.</summary>
    public static OnnxSessionOptions Cpu { get; } = new();

    /// <summary>
    /// Options passed to the provider as ONNX Runtime names them, e.g. for CUDA <c>cudnn_conv_algo_search</c>
    /// (<c>EXHAUSTIVE</c>, <c>HEURISTIC</c>, <c>DEFAULT</c>), <c>arena_extend_strategy</c> (<c>kNextPowerOfTwo</c>,
    /// <c>kSameAsRequested</c>), <c>gpu_mem_limit</c> (bytes), <c>do_copy_in_default_stream</c>. The device id comes
    /// from <see cref="DeviceId"/>. Ignored by the CPU provider.
    /// </summary>
    public ImmutableSortedDictionary<string, string> ProviderOptions { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>
    /// On the CPU provider, run a model whose weights are float16 as float32: the model is upcast once, losslessly, and
    /// the session created from that. ONNX Runtime's CPU provider lacks float16 kernels for most operators and wraps them
    /// in casts, so an fp16 export ran slower and took more memory there than fp32 (issue 17; figures in
    /// docs/benchmarks.md). On by default; the environment variable <c>FLOWDIFFUSION_CPU_FLOAT16=keep</c> turns it off.
    /// Other providers run fp16 models as they are whatever this says.
    /// </summary>
    public bool UpcastFloat16 { get; init; } = Float32Upcast.EnabledByEnvironment;

    /// <summary>The intra-op threads a session created with these options runs on.</summary>
    public int Threads => IntraOpThreads > 0 ? IntraOpThreads : SharesThreadPool ? OnnxEnvironment.SharedIntraOpThreads : OnnxEnvironment.DefaultThreads;

    /// <summary>
    /// Whether a session created with these options runs on the process's one shared intra-op pool (the default thread
    /// count, where FlowDiffusion created ONNX Runtime's environment) rather than a pool of its own.
    /// </summary>
    public bool SharesThreadPool => IntraOpThreads == 0 && OnnxEnvironment.SharedIntraOpThreads > 0;

    /// <summary>
    /// Whether runs of a session created with these options take turns with the process's other such runs: CPU sessions
    /// at the default thread count when it is at least the physical cores, unless <c>FLOWDIFFUSION_CPU_RUNS=parallel</c>
    /// (<see cref="CpuRunGate"/>).
    /// </summary>
    public bool TakesTurns => CpuRunGate.Applies(this);

    /// <summary>Whether sessions with these options run on ONNX Runtime's CPU provider.</summary>
    public bool IsCpu => string.Equals(ExecutionProviders.Normalize(Provider), ExecutionProviders.Normalize("cpu"), StringComparison.Ordinal);

    /// <summary>
    /// Parses a provider parameter: a name, optionally followed by <c>:</c> and either a device id or
    /// <c>key=value</c> pairs separated by <c>;</c> or <c>,</c> — <c>cuda</c>, <c>cuda:1</c>,
    /// <c>cuda:device_id=1;cudnn_conv_algo_search=HEURISTIC;arena_extend_strategy=kSameAsRequested</c>.
    /// <c>float16=keep</c> (or <c>upcast</c>) sets <see cref="UpcastFloat16"/>: <c>cpu:float16=keep</c>; <c>threads=N</c>
    /// sets <see cref="IntraOpThreads"/>: <c>cpu:threads=4</c>.
    /// </summary>
    /// <param name="text">The parameter's text.</param>
    /// <param name="extraOptions">More <c>key=value</c> pairs (a separate parameter or setting); these win over the text's.</param>
    /// <exception cref="FormatException">The text is not of that form; the message says what is wrong.</exception>
    public static OnnxSessionOptions Parse(string text, string? extraOptions = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = (colon < 0 ? text : text[..colon]).Trim();
        if (name.Length == 0)
        {
            throw new FormatException($"Provider '{text}' has no name; write e.g. cpu, cuda or cuda:device_id=1.");
        }
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var rest = colon < 0 ? string.Empty : text[(colon + 1)..].Trim();
        if (int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var device))
        {
            settings["device_id"] = device.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            AddPairs(settings, rest, text);
        }
        AddPairs(settings, extraOptions ?? string.Empty, extraOptions ?? string.Empty);
        var deviceId = 0;
        if (settings.Remove("device_id", out var id) && !int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out deviceId))
        {
            throw new FormatException($"Provider option device_id must be a non-negative integer, not '{id}'.");
        }
        var threads = 0;
        if (settings.Remove("threads", out var threadText) && !IntraOpThreadCount.TryParse(threadText, out threads))
        {
            throw new FormatException($"Option threads must be {IntraOpThreadCount.Expected}, not '{threadText}'.");
        }
        var upcast = Float32Upcast.EnabledByEnvironment;
        if (settings.Remove("float16", out var float16))
        {
            upcast = float16 switch
            {
                "upcast" => true,
                "keep" => false,
                _ => throw new FormatException($"Option float16 must be upcast (run fp16 models as float32 on the CPU) or keep, not '{float16}'."),
            };
        }
        return new OnnxSessionOptions(name, deviceId, threads) { ProviderOptions = settings.ToImmutableSortedDictionary(StringComparer.Ordinal), UpcastFloat16 = upcast };
    }

    /// <summary>
    /// Builds ONNX Runtime session options for these settings.
    /// </summary>
    /// <exception cref="ExecutionProviderNotAvailableException">
    /// The installed runtime lacks the requested provider, or lists it but cannot load it on this machine.
    /// </exception>
    public SessionOptions CreateSessionOptions()
    {
        var provider = ExecutionProviders.Resolve(Provider);
        var shared = SharesThreadPool;
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimization,
            EnableMemoryPattern = MemoryPattern,
            EnableCpuMemArena = true,
            // ONNX Runtime warns of what is so by design here (overridable weights are graph inputs; stored optimised
            // models are machine-specific): a dozen stderr lines per session that buried real errors, a test host's
            // crash report among them. Errors still print.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            if (shared)
            {
                options.DisablePerSessionThreads();
            }
            else
            {
                options.IntraOpNumThreads = IntraOpThreads > 0 ? IntraOpThreads : OnnxEnvironment.DefaultThreads;
            }
            provider.AppendTo(options, DeviceId, ProviderOptions);
            return options;
        }
        catch (OnnxRuntimeException e)
        {
            // The package lists the provider, but its library (or what that links against) did not load here.
            options.Dispose();
            throw new ExecutionProviderNotAvailableException(Provider, ExecutionProviders.Available, e.Message, e);
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <summary>Every setting as one canonical line, for cache keys and logs.</summary>
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"provider={ExecutionProviders.Normalize(Provider)};device={DeviceId};threads={IntraOpThreads};opt={GraphOptimization};mempattern={MemoryPattern}")
        + string.Concat(ProviderOptions.Select(p => $";{p.Key}={p.Value}"))
        + (UpcastFloat16 ? string.Empty : ";float16=keep");

    /// <inheritdoc />
    public bool Equals(OnnxSessionOptions? other) =>
        other is not null
        && string.Equals(ExecutionProviders.Normalize(Provider), ExecutionProviders.Normalize(other.Provider), StringComparison.Ordinal)
        && DeviceId == other.DeviceId
        && IntraOpThreads == other.IntraOpThreads
        && GraphOptimization == other.GraphOptimization
        && MemoryPattern == other.MemoryPattern
        && UpcastFloat16 == other.UpcastFloat16
        && ProviderOptions.Count == other.ProviderOptions.Count
        && ProviderOptions.All(p => other.ProviderOptions.TryGetValue(p.Key, out var v) && v == p.Value);

    /// <inheritdoc />
    public override int GetHashCode() =>
        HashCode.Combine(ExecutionProviders.Normalize(Provider), DeviceId, IntraOpThreads, GraphOptimization, MemoryPattern, ProviderOptions.Count, UpcastFloat16);

    private static void AddPairs(SortedDictionary<string, string> settings, string pairs, string whole)
    {
        foreach (var pair in pairs.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == pair.Length - 1)
            {
                throw new FormatException($"Provider option '{pair}' in '{whole}' is not key=value (e.g. cudnn_conv_algo_search=HEURISTIC).");
            }
            settings[pair[..eq].Trim()] = pair[(eq + 1)..].Trim();
        }
    }
}
