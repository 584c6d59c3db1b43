namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// TEED's soft edges (comfyui_controlnet_aux's TEDDetector, sd-webui-controlnet's softedge_teed): <see cref="SoftEdgeMap"/>
/// with the network's value the mean of its four outputs; each pixel the sigmoid of that mean, stepped by
/// <c>safe_step(x, safe_steps)</c> unless the steps are 0, × 255 as a byte (<see cref="HedEdges.Level(float, int)"/>, as HED's).
/// </summary>
public static class TeedEdges
{
    /// <summary>The most safe steps aux's TEEDPreprocessor and the extension's slider allow.</summary>
    public const int MaxSafeSteps = 10;

    /// <summary>The edge map (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="safeSteps">0: the plain sigmoid; 1…10: quantised to ⌊(n + 1)·x⌋ / n.</param>
    /// <param name="network">Runs the network on planar [3, height, width] RGB 0..255 values; returns height × width values.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, int safeSteps, Func<float[], int, int, float[]> network)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(safeSteps);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(safeSteps, MaxSafeSteps);
        return SoftEdgeMap.Apply(image, resolution, network, logit => HedEdges.Level(logit, safeSteps));
    }
}
