namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// comfyui_controlnet_aux's ImageLuminanceDetector (sd-webui-controlnet's recolor_luminance): <see cref="RecolorMap"/> of
/// the L of OpenCV's 8-bit <c>cvtColor(image, COLOR_BGR2LAB)</c>. Both call it on the RGB image, so red is read as blue:
/// Y = (871·γ(B) + 2929·γ(G) + 296·γ(R) + 2¹¹) >> 12 with γ OpenCV's sRGB table (round(2040 · sRGB⁻¹(v / 255))), then
/// L = (296·∛Y + 2¹⁴ − 1336934) >> 15 with ∛ its 3072-entry table (round(2¹⁵ · f(i / 2040)), f the CIE cube root, linear
/// below 216/24389). Equal to Debian's OpenCV 4.6 on all 2²⁴ colours (tools/reference/aux_preprocessors.py --check).
/// </summary>
public static class ImageLuminance
{
    // OpenCV's sRGBGammaTab_b: the linear value of each byte, × 255 × 2³ (gamma_shift 3).
    private static readonly int[] Linear = Enumerable.Range(0, 256).Select(i =>
    {
        var x = i / 255.0;
        return (int)Math.Round(2040 * (x <= 0.04045 ? x / 12.92 : Math.Pow((x + 0.055) / 1.055, 2.4)), MidpointRounding.ToEven);
    }).ToArray();

    // OpenCV's LabCbrtTab_b: f(Y) × 2¹⁵ for Y in 2040ths, 1.5 × 2040 entries.
    private static readonly int[] CubeRoot = Enumerable.Range(0, 256 * 3 / 2 * 8).Select(i =>
    {
        var x = i / 2040.0;
        return (int)Math.Round(32768 * (x < 216.0 / 24389 ? x * 841 / 108 + 16.0 / 116 : Math.Cbrt(x)), MidpointRounding.ToEven);
    }).ToArray();

    /// <summary>The luminance map; resolution 0 keeps the image's size.</summary>
    public static Rgb8Image Apply(Rgb8Image image, double gamma, int resolution) => RecolorMap.Apply(image, gamma, resolution, Lightness);

    /// <summary>OpenCV's 8-bit L of a pixel whose bytes it reads as B, G, R (aux and the extension pass R, G, B).</summary>
    public static byte Lightness(byte first, byte second, byte third)
    {
        var y = (Linear[third] * 871 + Linear[second] * 2929 + Linear[first] * 296 + (1 << 11)) >> 12;
        return (byte)Math.Clamp((296 * CubeRoot[y] - 1336934 + (1 << 14)) >> 15, 0, 255);
    }
}
