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
/// <param name="IntraOpThreads">Threads used inside one operator; 0 lets ONNX Runtime choose (one per physical core).</param>
/// <param name="GraphOptimization">The graph optimisation level applied when the session is created.</param>
public sealed record OnnxSessionOptions(
    string Provider = "cpu",
    int DeviceId = 0,
    int IntraOpThreads = 0,
    GraphOptimizationLevel GraphOptimization = GraphOptimizationLevel.ORT_ENABLE_ALL)
{
    /// <summary>The default: CPU provider, ONNX Runtime's thread count, all graph optimisations.</summary>
    public static OnnxSessionOptions Cpu { get; } = new();

    /// <summary>
    /// Builds ONNX Runtime session options for these settings.
    /// </summary>
    /// <exception cref="ExecutionProviderNotAvailableException">The installed runtime lacks the requested provider.</exception>
    public SessionOptions CreateSessionOptions()
    {
        var provider = ExecutionProviders.Resolve(Provider);
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimization };
        try
        {
            if (IntraOpThreads > 0)
            {
                options.IntraOpNumThreads = IntraOpThreads;
            }
            provider.AppendTo(options, DeviceId);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public bool Equals(OnnxSessionOptions? other) =>
        other is not null
        && string.Equals(ExecutionProviders.Normalize(Provider), ExecutionProviders.Normalize(other.Provider), StringComparison.Ordinal)
        && DeviceId == other.DeviceId
        && IntraOpThreads == other.IntraOpThreads
        && GraphOptimization == other.GraphOptimization;

    /// <inheritdoc />
    public override int GetHashCode() =>
        HashCode.Combine(ExecutionProviders.Normalize(Provider), DeviceId, IntraOpThreads, GraphOptimization);
}
