namespace FlowDiffusion.Imaging.Preprocessors.Annotators;

/// <summary>
/// An 8-bit RGB image, row-major and interleaved (height × width × 3 bytes), as the ControlNet annotators hold the
/// image they work on (a numpy uint8 HWC array).
/// </summary>
/// <param name="Height">The height.</param>
/// <param name="Width">The width.</param>
/// <param name="Pixels">height × width × 3 bytes, R G B per pixel.</param>
public sealed record Rgb8Image(int Height, int Width, byte[] Pixels)
{
    /// <summary>
    /// The bytes the annotators see of a 0..1 image: each value × 255 truncated (comfyui_controlnet_aux's
    /// <c>np.asarray(image * 255., dtype=np.uint8)</c>, in float32); values outside 0..1 (and NaN) are first clamped.
    /// </summary>
    /// <param name="rgb">Planar [3, height, width] values.</param>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    public static Rgb8Image FromPlanar(ReadOnlySpan<float> rgb, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        var plane = height * width;
        if (rgb.Length != 3L * plane) throw new ArgumentException($"expected 3 × {height} × {width} values, got {rgb.Length}", nameof(rgb));
        var pixels = new byte[3 * plane];
        for (var c = 0; c < 3; c++)
        for (var i = 0; i < plane; i++)
        {
            var v = rgb[c * plane + i];
            pixels[3 * i + c] = (byte)(Math.Clamp(float.IsNaN(v) ? 0f : v, 0f, 1f) * 255f);
        }

        return new Rgb8Image(height, width, pixels);
    }

    /// <summary>Planar [3, height, width] values byte / 255 (what the annotators' callers return).</summary>
    public float[] ToPlanar()
    {
        var plane = Height * Width;
        var result = new float[3 * plane];
        for (var c = 0; c < 3; c++)
        for (var i = 0; i < plane; i++) result[c * plane + i] = Pixels[3 * i + c] / 255f;
        return result;
    }

    /// <summary>Each channel (R, G, B) as a float32 plane of height × width values 0..255 (numpy's <c>astype(np.float32)</c>).</summary>
    public float[][] ChannelPlanes()
    {
        var plane = Height * Width;
        var planes = new float[3][];
        for (var c = 0; c < 3; c++)
        {
            planes[c] = new float[plane];
            for (var i = 0; i < plane; i++) planes[c][i] = Pixels[3 * i + c];
        }

        return planes;
    }

    /// <summary>A grey image: <paramref name="levels"/> (height × width) in all three channels.</summary>
    /// <param name="height">The height.</param>
    /// <param name="width">The width.</param>
    /// <param name="levels">One byte per pixel.</param>
    public static Rgb8Image Grey(int height, int width, byte[] levels)
    {
        var pixels = new byte[3 * levels.Length];
        for (var i = 0; i < levels.Length; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = levels[i];
        return new Rgb8Image(height, width, pixels);
    }

    /// <summary>The top-left <paramref name="height"/> × <paramref name="width"/> pixels.</summary>
    /// <param name="height">The height kept.</param>
    /// <param name="width">The width kept.</param>
    public Rgb8Image Crop(int height, int width)
    {
        if (height == Height && width == Width) return this;
        var pixels = new byte[3 * height * width];
        for (var y = 0; y < height; y++) Pixels.AsSpan(3 * y * Width, 3 * width).CopyTo(pixels.AsSpan(3 * y * width));
        return new Rgb8Image(height, width, pixels);
    }

    /// <summary>Padded on the bottom and right to multiples of <paramref name="multiple"/>, repeating the edge pixels (numpy's <c>edge</c> mode).</summary>
    /// <param name="multiple">The multiple.</param>
    public Rgb8Image PadEdge(int multiple)
    {
        int height = (Height + multiple - 1) / multiple * multiple, width = (Width + multiple - 1) / multiple * multiple;
        if (height == Height && width == Width) return this;
        var pixels = new byte[3 * height * width];
        for (var y = 0; y < height; y++)
        {
            var source = Math.Min(y, Height - 1);
            Pixels.AsSpan(3 * source * Width, 3 * Width).CopyTo(pixels.AsSpan(3 * y * width));
            for (var x = Width; x < width; x++) Pixels.AsSpan(3 * (source * Width + Width - 1), 3).CopyTo(pixels.AsSpan(3 * (y * width + x)));
        }

        return new Rgb8Image(height, width, pixels);
    }
}
