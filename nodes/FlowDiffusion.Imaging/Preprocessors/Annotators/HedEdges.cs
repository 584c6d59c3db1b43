namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' HED soft edges (comfyui_controlnet_aux's HEDdetector, sd-webui-controlnet's softedge_hed):
/// <see cref="SoftEdgeMap"/> with the network's value the mean of its side outputs; each pixel is the sigmoid of that mean
/// (in double), in safe mode stepped to ⌊3x⌋ / 2 (float32, as <c>safe_step</c>), × 255 clamped and truncated to a byte
/// (<see cref="Level(float, int)"/>).
/// </summary>
public static class HedEdges
{
    /// <summary>The edge map (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="safe">Whether to quantise to three levels (0, 127, 255), as the hedsafe modules do.</param>
    /// <param name="network">Runs the network on planar [3, height, width] values; returns height × width values.</param>
    /// <param name="scribble">Whether and where to turn the map into a fake scribble.</param>
    /// <param name="cancellationToken">Stops the scribble's blurs.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, bool safe, Func<float[], int, int, float[]> network,
        HedScribbleMode scribble = HedScribbleMode.None, CancellationToken cancellationToken = default) =>
        SoftEdgeMap.Apply(image, resolution, network, logit => Level(logit, safe), scribble, cancellationToken);

    /// <summary>One pixel: the sigmoid of the logit, stepped when safe, as a byte (truncated).</summary>
    public static byte Level(float logit, bool safe) => Level(logit, safe ? 2 : 0);

    /// <summary>
    /// One pixel: the sigmoid of the logit (double); with <paramref name="safeSteps"/> above 0 stepped as aux's
    /// <c>safe_step(x, step)</c> to ⌊(step + 1)·x⌋ / step in float32 and × 255 in float32, else × 255 in double; clamped and truncated to a byte.
    /// </summary>
    public static byte Level(float logit, int safeSteps)
    {
        var edge = 1 / (1 + Math.Exp(-(double)logit));
        if (safeSteps == 0) return (byte)Math.Clamp(edge * 255.0, 0, 255);
        var stepped = (int)((float)edge * (safeSteps + 1f)) / (float)safeSteps;
        return (byte)Math.Clamp(stepped * 255f, 0f, 255f);
    }
}
