namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>The quantity an exponential-integrator solver integrates.</summary>
public enum SolverTarget
{
    /// <summary>The data prediction x₀ (DPM-Solver++, UniPC with predict_x0).</summary>
    Data,

    /// <summary>The noise prediction ε (DPM-Solver, UniPC without predict_x0).</summary>
    Noise,

    /// <summary>ε recovered from x₀ after thresholding, always through x₀ (DEIS).</summary>
    NoiseViaData,
}
