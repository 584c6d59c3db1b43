namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// ComfyUI's flips and quarter turns (ImageFlip, LatentFlip, ImageRotate, LatentRotate) on planar [planes, h, w] data:
/// torch.flip over the height or the width, and torch.rot90 from the width axis towards the height axis, which turns
/// the picture clockwise.
/// </summary>
internal static class PlanarTransform
{
    /// <summary>ComfyUI's flip methods: "x-axis: vertically" mirrors top and bottom, "y-axis: horizontally" left and right.</summary>
    public static readonly string[] FlipMethods = ["x-axis: vertically", "y-axis: horizontally"];

    /// <summary>ComfyUI's rotations, clockwise.</summary>
    public static readonly string[] Rotations = ["none", "90 degrees", "180 degrees", "270 degrees"];

    /// <summary>Each plane mirrored top to bottom (<paramref name="vertically"/>) or left to right.</summary>
    public static float[] Flip(ReadOnlySpan<float> source, int planes, int height, int width, bool vertically)
    {
        var result = new float[source.Length];
        for (var p = 0; p < planes; p++)
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var from = vertically ? (p * height + height - 1 - y) * width + x : (p * height + y) * width + width - 1 - x;
            result[(p * height + y) * width + x] = source[from];
        }

        return result;
    }

    /// <summary>Each plane turned clockwise by <paramref name="quarterTurns"/> × 90°; an odd count swaps height and width.</summary>
    public static (float[] Values, int Height, int Width) Rotate(ReadOnlySpan<float> source, int planes, int height, int width, int quarterTurns)
    {
        var turns = (quarterTurns % 4 + 4) % 4;
        var (newHeight, newWidth) = turns % 2 == 0 ? (height, width) : (width, height);
        var result = new float[source.Length];
        for (var p = 0; p < planes; p++)
        for (var y = 0; y < newHeight; y++)
        for (var x = 0; x < newWidth; x++)
        {
            // Where output pixel (x, y) comes from in the source.
            var (fromY, fromX) = turns switch
            {
                0 => (y, x),
                1 => (height - 1 - x, y),
                2 => (height - 1 - y, width - 1 - x),
                _ => (x, width - 1 - y),
            };
            result[(p * newHeight + y) * newWidth + x] = source[(p * height + fromY) * width + fromX];
        }

        return (result, newHeight, newWidth);
    }

    /// <summary>The quarter turns of a ComfyUI rotation name.</summary>
    public static int QuarterTurns(string rotation) => rotation switch
    {
        "none" => 0,
        "90 degrees" => 1,
        "180 degrees" => 2,
        "270 degrees" => 3,
        _ => throw new ArgumentException($"rotation must be one of {string.Join(", ", Rotations.Select(r => $"'{r}'"))}; got '{rotation}'"),
    };

    /// <summary>Whether a ComfyUI flip method flips top to bottom.</summary>
    public static bool Vertically(string method) => method switch
    {
        "x-axis: vertically" => true,
        "y-axis: horizontally" => false,
        _ => throw new ArgumentException($"flip_method must be one of {string.Join(", ", FlipMethods.Select(r => $"'{r}'"))}; got '{method}'"),
    };
}
