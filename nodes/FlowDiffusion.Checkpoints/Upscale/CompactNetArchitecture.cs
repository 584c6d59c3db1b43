namespace FlowDiffusion.Checkpoints.Upscale;

/// <summary>
/// A Real-ESRGAN compact generator's shape (SRVGGNetCompact: <c>realesr-general-x4v3</c>, <c>realesr-animevideov3</c>),
/// read from its tensors: image channels (in and out), features, the body's 3×3 convolutions between the first and the
/// last, and the scale the last convolution's pixel shuffle gives.
/// </summary>
public sealed record CompactNetArchitecture(int Channels, int Features, int Convolutions, int Scale);
