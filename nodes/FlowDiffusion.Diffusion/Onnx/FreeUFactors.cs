namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// FreeU's settings for a UNet graph built with its inputs (ComfyUI's FreeU is version 1, FreeU_V2 version 2): the backbone
/// factors b1 (at model_channels × 4) and b2 (× 2) and the skip filter's factors s1 and s2. Version 1 with every factor 1
/// is the plain UNet.
/// </summary>
/// <param name="Version">1 (FreeU) or 2 (FreeU_V2).</param>
/// <param name="B1">The backbone factor at model_channels × 4.</param>
/// <param name="B2">The backbone factor at model_channels × 2.</param>
/// <param name="S1">The skip's low-frequency factor at model_channels × 4.</param>
/// <param name="S2">The skip's low-frequency factor at model_channels × 2.</param>
public sealed record FreeUFactors(int Version, float B1, float B2, float S1, float S2)
{
    /// <summary>The graph's input names, in the order b1, b2, s1, s2 (each float32 [1]).</summary>
    public static IReadOnlyList<string> FactorInputs { get; } = ["freeu_b1", "freeu_b2", "freeu_s1", "freeu_s2"];

    /// <summary>The graph's version input (float32 [1]: 1 or 2).</summary>
    public const string VersionInput = "freeu_version";

    /// <summary>The factors in <see cref="FactorInputs"/>' order.</summary>
    public float[] Factors => [B1, B2, S1, S2];
}
