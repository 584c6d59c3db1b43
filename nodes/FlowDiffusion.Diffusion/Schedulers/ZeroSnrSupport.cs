namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>How a scheduler class handles <c>rescale_betas_zero_snr</c>.</summary>
public enum ZeroSnrSupport
{
    /// <summary>The class has no such option; asking for it is an error.</summary>
    None,

    /// <summary>The rescaled alpha_bar is used as is (last entry 0).</summary>
    Exact,

    /// <summary>The last alpha_bar is raised to 2⁻²⁴ so the largest sigma stays finite.</summary>
    ClampTerminal,
}
