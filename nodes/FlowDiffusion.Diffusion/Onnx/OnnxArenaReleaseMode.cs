namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>When a sampler asks the UNet's runs to hand their CPU arena's free memory back (<see cref="OnnxArenaRelease"/>).</summary>
public enum OnnxArenaReleaseMode
{
    /// <summary>From the latent size where it was measured to lower the peak (<see cref="OnnxArenaRelease.Pays(FlowDiffusion.Sdk.Diffusion.LatentShape)"/>); the default.</summary>
    Auto,

    /// <summary>After every sampling loop, whatever its size: the least memory, at the cost of the next run's first step.</summary>
    Always,

    /// <summary>Never: the arena keeps its memory for the next run.</summary>
    Never,
}
