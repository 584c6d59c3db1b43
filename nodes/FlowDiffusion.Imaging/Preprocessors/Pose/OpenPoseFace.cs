using FlowDiffusion.Imaging.Preprocessors.Annotators;

namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The ControlNet annotators' classic OpenPose face estimator (comfyui_controlnet_aux's and sd-webui-controlnet's
/// <c>Face</c>, with <c>faceDetect</c> and <c>detect_face</c>) around its network:
/// <list type="bullet">
/// <item>per person with a nose and at least one eye or ear, <see cref="Box"/>;</item>
/// <item>the box's pixels (what of it is inside the image) resized to 384 × 384 (INTER_AREA when shrinking, INTER_LANCZOS4
/// otherwise, as the annotator's smart_resize picks; no blur), once through the network;</item>
/// <item>each of its 71 maps (the 70 face points and the background, all of them, as the annotator passes them) enlarged
/// bilinearly with aligned corners to the crop's size, as torch's float32 interpolate does; a map whose values never pass
/// 0.05 gives no point (the points after it move up, as the annotator's list does), else its first maximum in scan order;
/// a point at the crop's column or row 0 is missing (the annotator's <c>&lt; 1e-6</c> test), the others are moved by the
/// box's corner.</item>
/// </list>
/// At most <see cref="MaxFaces"/> faces per image are estimated; the people after them keep no face.
/// </summary>
public static class OpenPoseFace
{
    /// <summary>The most faces estimated per image (one network pass of 384 × 384 each).</summary>
    public const int MaxFaces = 32;

    /// <summary>The side the crop is resized to.</summary>
    public const int Side = 384;

    /// <summary>The network's stride: its maps are 1/8 of its input.</summary>
    public const int Stride = 8;

    /// <summary>The heatmap channels (70 points and the background).</summary>
    public const int Channels = 71;

    private const double Threshold = 0.05;
    private const int MinBox = 20, Nose = 0, RightEye = 14, LeftEye = 15, RightEar = 16, LeftEar = 17;

    /// <summary>The network: planar RGB [3, 384, 384] 0..255 in; the heatmaps [71, 48, 48] out.</summary>
    public delegate float[] Network(float[] pixels);

    /// <summary>
    /// <c>faceDetect</c>: the box of <paramref name="body"/>'s face in an image of <paramref name="height"/> × <paramref name="width"/>,
    /// or null. Half its side is the largest of 3 × the nose's Chebyshev distance to each eye and 1.5 × to each ear; its corner
    /// the nose less that, clamped to 0; its side twice that, cut to the image from the corner only where the corner plus
    /// <em>half</em> the side passes the edge (the annotator's test, so a box may end past the image); kept from 20 px, then
    /// truncated to whole pixels.
    /// </summary>
    public static OpenPoseFaceBox? Box(IReadOnlyList<PoseKeypoint?> body, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body[Nose] is not { } nose) return null;
        int[] eyes = [RightEye, LeftEye], ears = [RightEar, LeftEar];
        if (eyes.Concat(ears).All(i => body[i] is null)) return null;
        double x0 = nose.X, y0 = nose.Y, half = 0;
        foreach (var (index, factor) in eyes.Select(i => (i, 3.0)).Concat(ears.Select(i => (i, 1.5))))
        {
            if (body[index] is not { } p) continue;
            var d = Math.Max(Math.Abs(x0 - p.X), Math.Abs(y0 - p.Y));
            half = Math.Max(half, d * factor);
        }

        double x = x0 - half, y = y0 - half;
        if (x < 0) x = 0;
        if (y < 0) y = 0;
        double side1 = half * 2, side2 = half * 2;
        if (x + half > width) side1 = width - x;
        if (y + half > height) side2 = height - y;
        var side = Math.Min(side1, side2);
        return side >= MinBox ? new OpenPoseFaceBox((int)x, (int)y, (int)side) : null;
    }

    /// <summary>The people with their faces: each box of <see cref="Box"/> estimated, up to <see cref="MaxFaces"/> in the image.</summary>
    public static IReadOnlyList<OpenPoseKeypoints> Detect(IReadOnlyList<OpenPoseKeypoints> people, Rgb8Image image, Network network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(people);
        ArgumentNullException.ThrowIfNull(image);
        var budget = MaxFaces;
        var result = new List<OpenPoseKeypoints>(people.Count);
        foreach (var person in people)
        {
            PoseKeypoint?[]? face = null;
            if (Box(person.Body, image.Height, image.Width) is { } box && budget-- > 0) face = Estimate(image, box, network, cancellationToken);
            result.Add(person with { Face = face });
        }

        return result;
    }

    /// <summary>One box's points in the image's pixels, one per map that passes the threshold (null where missing), or null when none does.</summary>
    public static PoseKeypoint?[]? Estimate(Rgb8Image image, OpenPoseFaceBox box, Network network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var crop = OpenPoseHand.Crop(image, box.X, box.Y, box.Size);
        var maps = network(Input(crop));
        const int rows = Side / Stride, plane = rows * rows;
        if (maps.Length != Channels * plane) throw new InvalidOperationException($"the face network returned {maps.Length} values for a {Side}² image; {Channels} × {rows}² expected");
        var points = new List<PoseKeypoint?>();
        for (var channel = 0; channel < Channels; channel++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Peak(maps.AsSpan(channel * plane, plane), rows, rows, crop.Height, crop.Width) is not var (x, y)) continue;
            points.Add(x > 0 && y > 0 ? new PoseKeypoint(x + box.X, y + box.Y, 1f) : null);
        }

        return points.Count > 0 ? [.. points] : null;
    }

    /// <summary>The network's input for a crop: resized to 384 × 384 as smart_resize does, planar RGB 0..255.</summary>
    public static float[] Input(Rgb8Image crop)
    {
        ArgumentNullException.ThrowIfNull(crop);
        // smart_resize: INTER_AREA when (384 + 384) / (h + w) < 1, else INTER_LANCZOS4.
        var scaled = 2.0 * Side / (crop.Height + crop.Width) < 1 ? OpenCvResize.Area(crop, Side, Side) : OpenCvResize.Lanczos4(crop, Side, Side);
        const int plane = Side * Side;
        var pixels = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            pixels[c * plane + i] = scaled.Pixels[3 * i + c];
        return pixels;
    }

    /// <summary>
    /// One map's point in a crop of <paramref name="height"/> × <paramref name="width"/>: the map enlarged with bilinear
    /// interpolation, corners aligned, in float32 as torch computes it (source = float((n − 1) / (m − 1)) · index, the lower
    /// cell's weight 1 − λ; rows of columns); the first maximum in scan order if it passes 0.05, else null. The enlarged map is
    /// never stored: memory stays one row whatever the crop.
    /// </summary>
    public static (int X, int Y)? Peak(ReadOnlySpan<float> map, int rows, int columns, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(map.Length, rows * columns);
        var (top, topWeight, down) = Weights(rows, height);
        var (left, leftWeight, right) = Weights(columns, width);
        var best = float.NegativeInfinity;
        (int X, int Y) at = (0, 0);
        for (var y = 0; y < height; y++)
        {
            int r0 = top[y] * columns, r1 = (top[y] + down[y]) * columns;
            float h1 = topWeight[y], h0 = 1f - h1;
            for (var x = 0; x < width; x++)
            {
                int c0 = left[x], c1 = left[x] + right[x];
                float w1 = leftWeight[x], w0 = 1f - w1;
                var upper = map[r0 + c0] * w0;
                upper += map[r0 + c1] * w1;
                var lower = map[r1 + c0] * w0;
                lower += map[r1 + c1] * w1;
                var value = upper * h0;
                value += lower * h1;
                if (value > best) (best, at) = (value, (x, y));
            }
        }

        return best > Threshold ? at : null;
    }

    // torch's linear indices with align_corners: the source cell, λ, and whether a next cell exists.
    private static (int[] Index, float[] Lambda, int[] Next) Weights(int source, int size)
    {
        var scale = size > 1 ? (float)(source - 1) / (size - 1) : 0f;
        int[] index = new int[size], next = new int[size];
        var lambda = new float[size];
        for (var i = 0; i < size; i++)
        {
            var real = scale * i;
            index[i] = Math.Min((int)MathF.Floor(real), source - 1);
            lambda[i] = Math.Clamp(real - index[i], 0f, 1f);
            next[i] = index[i] < source - 1 ? 1 : 0;
        }

        return (index, lambda, next);
    }
}
