namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>A session was loaded into or unloaded from an <see cref="OnnxSessionCache"/>.</summary>
/// <param name="ModelPath">The full path of the model file.</param>
/// <param name="Options">The options the session was created with.</param>
/// <param name="Bytes">The memory the cache charges for the session: measured around its creation (see <see cref="OnnxSessionCache"/>).</param>
/// <param name="Elapsed">How long creating or disposing the session took.</param>
/// <param name="Source">The whole description, weight overrides included.</param>
/// <param name="FromOptimizedModel">Whether the session was created from a stored optimised model (a warm start).</param>
public sealed record OnnxSessionEvent(
    string ModelPath,
    OnnxSessionOptions Options,
    long Bytes,
    TimeSpan Elapsed,
    OnnxModelSource? Source = null,
    bool FromOptimizedModel = false);
