namespace FlowDiffusion.Checkpoints.Upscale;

/// <summary>
/// An ESRGAN generator's shape, read from its tensors: image channels in and out, features, dense growth channels, RRDB
/// count, the nearest ×2 upsamplings, and the pixel unshuffle Real-ESRGAN's ×2 (factor 2) and ×1 (factor 4) models apply first.
/// </summary>
public sealed record RrdbNetArchitecture(int InChannels, int OutChannels, int Features, int Growth, int Blocks, int Upsamplings, int Unshuffle)
{
    /// <summary>Output pixels per input pixel along each side: 2^upsamplings / unshuffle.</summary>
    public int Scale => (1 << Upsamplings) / Unshuffle;
}
