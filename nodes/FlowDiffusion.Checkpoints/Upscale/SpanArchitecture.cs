namespace FlowDiffusion.Checkpoints.Upscale;

/// <summary>
/// A SPAN upscaler's shape (Swift Parameter-free Attention Network: <c>2x-ClearRealityV1</c>, <c>4xNomos8k_span_otf_strong</c>),
/// read from its tensors as spandrel reads it: image channels in (<c>conv_1.sk.weight</c>) and out, features, the scale
/// the upsampler's pixel shuffle gives, and whether the image is first normalised (no <c>no_norm</c> buffer).
/// </summary>
public sealed record SpanArchitecture(int InChannels, int OutChannels, int Features, int Scale, bool Normalised);
