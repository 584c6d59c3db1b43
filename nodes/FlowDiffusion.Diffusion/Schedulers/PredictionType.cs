namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>What the denoising model predicts.</summary>
public enum PredictionType
{
    /// <summary>The added noise ε (<c>epsilon</c>).</summary>
    Epsilon,

    /// <summary>The velocity v = α·ε − σ·x₀ (<c>v_prediction</c>, Salimans &amp; Ho 2022).</summary>
    VPrediction,

    /// <summary>The clean sample x₀ (<c>sample</c>).</summary>
    Sample,
}
