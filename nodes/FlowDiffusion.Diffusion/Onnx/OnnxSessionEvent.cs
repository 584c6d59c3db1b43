namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>A session was loaded into or unloaded from an <see cref="OnnxSessionCache"/>.</summary>
/// <param name="ModelPath">The full path of the model file.</param>
/// <param name="Options">The options the session was created with.</param>
/// <param name="Bytes">The estimated memory the session holds (model file plus external data).</param>
/// <param name="Elapsed">How long creating or disposing the session took.</param>
public sealed record OnnxSessionEvent(string ModelPath, OnnxSessionOptions Options, long Bytes, TimeSpan Elapsed);
