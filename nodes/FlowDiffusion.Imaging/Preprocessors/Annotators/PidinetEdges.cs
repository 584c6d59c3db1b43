namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The ControlNet annotators' PiDiNet soft edges (comfyui_controlnet_aux's PidiNetDetector, sd-webui-controlnet's
/// softedge_pidinet): <see cref="SoftEdgeMap"/> with the network's value the sigmoid of its fused output (float32); in safe
/// mode stepped to ⌊3x⌋ / 2 (as <c>safe_step</c>), × 255 in float32, clamped and truncated to a byte.
/// </summary>
public static class PidinetEdges
{
    /// <summary>The edge map (grey in all three channels).</summary>
    /// <param name="image">The image.</param>
    /// <param name="resolution">The detect resolution (the scaled short side).</param>
    /// <param name="safe">Whether to quantise to three levels (0, 127, 255), as softedge_pidisafe does.</param>
    /// <param name="network">Runs the network on planar [3, height, width] RGB 0..255 values; returns height × width probabilities.</param>
    /// <param name="scribble">Whether and where to turn the map into a fake scribble (scribble_pidinet: after the crop).</param>
    /// <param name="cancellationToken">Stops the scribble's blurs.</param>
    public static Rgb8Image Apply(Rgb8Image image, int resolution, bool safe, Func<float[], int, int, float[]> network,
        HedScribbleMode scribble = HedScribbleMode.None, CancellationToken cancellationToken = default) =>
        SoftEdgeMap.Apply(image, resolution, network, edge => Level(edge, safe), scribble, cancellationToken);

    /// <summary>
    /// sd-webui-controlnet's t2ia_sketch_pidi (<c>apply_pidinet(apply_fliter=True)</c>): the same map thresholded, 255 where
    /// the edge probability is above 0.5 and 0 elsewhere.
    /// </summary>
    public static Rgb8Image ApplySketch(Rgb8Image image, int resolution, Func<float[], int, int, float[]> network) =>
        SoftEdgeMap.Apply(image, resolution, network, edge => edge > 0.5f ? (byte)255 : (byte)0);

    /// <summary>One pixel: the edge probability, stepped when safe, as a byte (truncated).</summary>
    public static byte Level(float edge, bool safe)
    {
        if (safe) edge = (int)(edge * 3f) / 2f;
        return (byte)Math.Clamp(edge * 255f, 0f, 255f);
    }
}
