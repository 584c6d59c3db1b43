namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's ImageIntensityDetector (sd-webui-controlnet's recolor_intensity): <see cref="RecolorMap"/> of
/// HSV's value, the largest of R, G, B.
/// </summary>
public static class ImageIntensity
{
    /// <summary>The intensity map; resolution 0 keeps the image's size.</summary>
    public static Rgb8Image Apply(Rgb8Image image, double gamma, int resolution) =>
        RecolorMap.Apply(image, gamma, resolution, (r, g, b) => Math.Max(Math.Max(r, g), b));
}
