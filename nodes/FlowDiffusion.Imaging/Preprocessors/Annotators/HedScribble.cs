namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// The fake scribble of an 8-bit HED map (comfyui_controlnet_aux's FakeScribblePreprocessor, sd-webui-controlnet's
/// scribble_hed): aux's <c>nms(map, 127, 3.0)</c> — the map as float32 blurred with σ 3 (<see cref="OpenCvGaussianBlur"/>),
/// a pixel kept where it equals the dilation by any of the four 3-tap lines through it (horizontal, vertical, both
/// diagonals; <see cref="OpenCvDilate"/>), 255 where the kept value exceeds 127 — then the bytes blurred with σ 3
/// (<see cref="OpenCvGaussianBlur.BlurBytes"/>) and 255 where above 4, else 0.
/// </summary>
public static class HedScribble
{
    // aux's f1…f4: the horizontal, vertical, falling and rising 3-tap lines.
    private static readonly bool[][] Lines =
    [
        [false, false, false, true, true, true, false, false, false],
        [false, true, false, false, true, false, false, true, false],
        [true, false, false, false, true, false, false, false, true],
        [false, false, true, false, true, false, true, false, false],
    ];

    /// <summary>The scribble (0 or 255) of a <paramref name="height"/> × <paramref name="width"/> map.</summary>
    public static byte[] Apply(ReadOnlySpan<byte> map, int height, int width, CancellationToken cancellationToken = default)
    {
        var levels = new float[map.Length];
        for (var i = 0; i < levels.Length; i++) levels[i] = map[i];
        var blurred = OpenCvGaussianBlur.Blur(levels, height, width, 3.0, cancellationToken);
        var kept = new float[blurred.Length];
        foreach (var line in Lines)
        {
            var dilated = OpenCvDilate.Dilate3x3(blurred, height, width, line);
            for (var i = 0; i < kept.Length; i++)
                if (dilated[i] == blurred[i]) kept[i] = blurred[i];
        }

        var thin = new byte[kept.Length];
        for (var i = 0; i < thin.Length; i++) thin[i] = kept[i] > 127 ? (byte)255 : (byte)0;
        var spread = OpenCvGaussianBlur.BlurBytes(thin, height, width, 3.0, cancellationToken);
        for (var i = 0; i < spread.Length; i++) spread[i] = spread[i] > 4 ? (byte)255 : (byte)0;
        return spread;
    }
}
