namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>An IP-Adapter's part of one UNet call: each row's decoupled keys and values (all with the same token count) and the scales.</summary>
/// <param name="Rows">Each batch row's keys and values.</param>
/// <param name="Scales">[B, layers]: each row's scale per cross-attention layer.</param>
public sealed record IpAttention(IReadOnlyList<IpKeysValues> Rows, float[] Scales);
