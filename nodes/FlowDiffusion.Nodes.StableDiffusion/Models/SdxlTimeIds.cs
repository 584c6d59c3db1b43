namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// The SDXL refiner's micro-conditioning (diffusers' <c>requires_aesthetics_score</c>): time_ids are original height and
/// width, crop top and left and an aesthetic score, with diffusers' default scores for the positive and negative prompt.
/// </summary>
internal static class SdxlTimeIds
{
    /// <summary>Numbers per row of a refiner's time_ids.</summary>
    public const int RefinerCount = 5;

    /// <summary>diffusers' <c>aesthetic_score</c> default (the positive prompt).</summary>
    public const float PositiveAestheticScore = 6.0f;

    /// <summary>diffusers' <c>negative_aesthetic_score</c> default.</summary>
    public const float NegativeAestheticScore = 2.5f;
}
