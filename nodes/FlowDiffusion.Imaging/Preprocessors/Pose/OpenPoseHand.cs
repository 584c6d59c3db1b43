using FlowDiffusion.Imaging.Preprocessors.Annotators;

namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The ControlNet annotators' classic OpenPose hand estimator (comfyui_controlnet_aux's and sd-webui-controlnet's
/// <c>Hand</c>, with <c>handDetect</c> and <c>detect_hands</c>) around its network:
/// <list type="bullet">
/// <item>per person, a square box per arm whose shoulder, elbow and wrist were all found (left: body points 5–7, right:
/// 2–4): centred at wrist + 0.33 · (wrist − elbow), side 1.5 · max(|wrist − elbow|, 0.9 · |elbow − shoulder|), its corner
/// clamped to 0, its side cut to the image on the nearer edge, kept from 20 px, then truncated to whole pixels;</item>
/// <item>per box, the crop blurred with <see cref="OpenCvGaussianBlur.BlurBytes"/> at σ 0.8, then at each of 184, 368, 552 and
/// 736 px square (0.5…2 × 368; INTER_AREA when shrinking, INTER_LANCZOS4 otherwise, as the annotator's smart_resize picks)
/// through the network; each of its 22 maps enlarged 8× with INTER_LANCZOS4, shrunk to 128 × 128 with INTER_AREA, each
/// stored as float32, and averaged over the four scales in double;</item>
/// <item>per hand point (the first 21 maps), <see cref="Peak"/>: its pixel scaled by the box's side / 128 and truncated, plus
/// the box's corner; a point at the box's column or row 0 counts as missing (the annotator's <c>&lt; 1e-6</c> test), as
/// does one whose map never passes the threshold.</item>
/// </list>
/// At most <see cref="MaxBoxes"/> boxes per image are estimated (four network passes each); the people after them keep no hands.
/// </summary>
public static class OpenPoseHand
{
    /// <summary>The most hand boxes estimated per image, each four network passes of up to 736 × 736.</summary>
    public const int MaxBoxes = 32;

    /// <summary>The side of the averaged heatmaps.</summary>
    public const int MapSize = 128;

    /// <summary>The hand points (the network's 22nd map is the background).</summary>
    public const int Points = 21;

    /// <summary>The network's stride: its maps are 1/8 of its input.</summary>
    public const int Stride = 8;

    /// <summary>The heatmap channels.</summary>
    public const int Channels = 22;

    /// <summary>The square sides the crop is run at (0.5, 1, 1.5 and 2 × 368).</summary>
    public static IReadOnlyList<int> Sides { get; } = [184, 368, 552, 736];

    private const double RatioWristElbow = 0.33, Threshold = 0.05, Sigma = 3, BlurSigma = 0.8;
    private const int MinBox = 20;

    /// <summary>The network: planar RGB [3, s, s] 0..255 in (s a multiple of 8); the heatmaps [22, s/8, s/8] out.</summary>
    public delegate float[] Network(float[] pixels, int side);

    /// <summary><c>handDetect</c>: the boxes of <paramref name="body"/>'s hands (left first) in an image of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static IReadOnlyList<OpenPoseHandBox> Boxes(IReadOnlyList<PoseKeypoint?> body, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(body);
        var boxes = new List<OpenPoseHandBox>();
        foreach (var (shoulder, elbow, wrist, left) in new[] { (5, 6, 7, true), (2, 3, 4, false) })
        {
            if (body[shoulder] is not { } s || body[elbow] is not { } e || body[wrist] is not { } w) continue;
            double x1 = s.X, y1 = s.Y, x2 = e.X, y2 = e.Y, x3 = w.X, y3 = w.Y;
            var x = x3 + RatioWristElbow * (x3 - x2);
            var y = y3 + RatioWristElbow * (y3 - y2);
            var wristElbow = Math.Sqrt((x3 - x2) * (x3 - x2) + (y3 - y2) * (y3 - y2));
            var elbowShoulder = Math.Sqrt((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1));
            var side = 1.5 * Math.Max(wristElbow, 0.9 * elbowShoulder);
            x -= side / 2;
            y -= side / 2;
            if (x < 0) x = 0;
            if (y < 0) y = 0;
            double side1 = side, side2 = side;
            if (x + side > width) side1 = width - x;
            if (y + side > height) side2 = height - y;
            side = Math.Min(side1, side2);
            if (side >= MinBox) boxes.Add(new OpenPoseHandBox((int)x, (int)y, (int)side, left));
        }

        return boxes;
    }

    /// <summary>The people with their hands: each box of <see cref="Boxes"/> estimated, up to <see cref="MaxBoxes"/> in the image.</summary>
    public static IReadOnlyList<OpenPoseKeypoints> Detect(IReadOnlyList<OpenPoseKeypoints> people, Rgb8Image image, Network network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(people);
        ArgumentNullException.ThrowIfNull(image);
        var budget = MaxBoxes;
        var result = new List<OpenPoseKeypoints>(people.Count);
        foreach (var person in people)
        {
            PoseKeypoint?[]? left = null, right = null;
            foreach (var box in Boxes(person.Body, image.Height, image.Width))
            {
                if (budget-- <= 0) break;
                var points = Estimate(image, box, network, cancellationToken);
                if (box.Left) left = points;
                else right = points;
            }

            result.Add(person with { LeftHand = left, RightHand = right });
        }

        return result;
    }

    /// <summary>One box's 21 points in the image's pixels (null where missing).</summary>
    public static PoseKeypoint?[] Estimate(Rgb8Image image, OpenPoseHandBox box, Network network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var heatmaps = Heatmaps(Crop(image, box), network, cancellationToken);
        var points = new PoseKeypoint?[Points];
        for (var part = 0; part < Points; part++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (x, y) = Peak(heatmaps.AsSpan(part * MapSize * MapSize, MapSize * MapSize).ToArray(), box.Size);
            if (x > 0 && y > 0) points[part] = new PoseKeypoint(x + box.X, y + box.Y, 1f);
        }

        return points;
    }

    /// <summary>The box's pixels (rows and columns past the image left out, as numpy's slice does).</summary>
    public static Rgb8Image Crop(Rgb8Image image, OpenPoseHandBox box) => Crop(image, box.X, box.Y, box.Size);

    /// <summary>The pixels of the square of side <paramref name="size"/> from column <paramref name="left"/> and row <paramref name="top"/> (rows and columns past the image left out, as numpy's slice does).</summary>
    public static Rgb8Image Crop(Rgb8Image image, int left, int top, int size)
    {
        ArgumentNullException.ThrowIfNull(image);
        int x0 = Math.Clamp(left, 0, image.Width), y0 = Math.Clamp(top, 0, image.Height);
        int width = Math.Clamp(left + size, 0, image.Width) - x0, height = Math.Clamp(top + size, 0, image.Height) - y0;
        var pixels = new byte[3 * height * width];
        for (var y = 0; y < height; y++) image.Pixels.AsSpan(3 * ((y0 + y) * image.Width + x0), 3 * width).CopyTo(pixels.AsSpan(3 * y * width));
        return new Rgb8Image(height, width, pixels);
    }

    /// <summary>The crop's 22 heatmaps averaged over the four sides, [22, 128, 128].</summary>
    public static double[] Heatmaps(Rgb8Image crop, Network network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(crop);
        ArgumentNullException.ThrowIfNull(network);
        var blurred = Blur(crop, cancellationToken);
        const int map = MapSize * MapSize;
        var average = new double[Channels * map];
        foreach (var side in Sides)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // smart_resize: INTER_AREA when (side + side) / (h + w) < 1, else INTER_LANCZOS4.
            var scaled = 2.0 * side / (blurred.Height + blurred.Width) < 1 ? OpenCvResize.Area(blurred, side, side) : OpenCvResize.Lanczos4(blurred, side, side);
            var plane = side * side;
            var pixels = new float[3 * plane];
            for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                pixels[c * plane + i] = scaled.Pixels[3 * i + c];
            var output = network(pixels, side);
            var rows = side / Stride;
            if (output.Length != Channels * rows * rows) throw new InvalidOperationException($"the hand network returned {output.Length} values for a {side}² image; {Channels} × {rows}² expected");
            for (var channel = 0; channel < Channels; channel++)
            {
                var source = new double[rows * rows];
                for (var i = 0; i < source.Length; i++) source[i] = output[channel * source.Length + i];
                var enlarged = Float32(OpenCvResize.Lanczos4Double(source, rows, rows, side, side));
                var shrunk = Float32(OpenCvResize.AreaDouble(enlarged, side, side, MapSize, MapSize));
                for (var i = 0; i < map; i++) average[channel * map + i] += shrunk[i] / Sides.Count;
            }
        }

        return average;
    }

    /// <summary>
    /// One point's pixel in a crop of side <paramref name="cropSize"/> from its averaged 128 × 128 map, as the annotator finds it:
    /// the map filtered with <see cref="ScipyGaussianFilter"/> at σ 3; none above 0.05 gives (0, 0); else the 8-connected
    /// region above it whose unfiltered values sum highest (the first on a tie, regions numbered in scan order), the map
    /// zeroed outside it, its first maximum in scan order; row and column × side / 128, truncated. The sums are in
    /// double in scan order where numpy sums pairwise, which can differ only on a near tie.
    /// </summary>
    public static (int X, int Y) Peak(double[] map, int cropSize)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentOutOfRangeException.ThrowIfNotEqual(map.Length, MapSize * MapSize);
        var filtered = ScipyGaussianFilter.Apply(map, MapSize, MapSize, Sigma);
        var labels = new int[map.Length];
        var sums = new List<double>();
        var queue = new Queue<int>();
        for (var start = 0; start < map.Length; start++)
        {
            if (!(filtered[start] > Threshold) || labels[start] != 0) continue;
            var label = sums.Count + 1;
            var sum = 0.0;
            labels[start] = label;
            queue.Enqueue(start);
            var members = new List<int>();
            while (queue.Count > 0)
            {
                var i = queue.Dequeue();
                members.Add(i);
                int y = i / MapSize, x = i % MapSize;
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    int ny = y + dy, nx = x + dx;
                    if (ny < 0 || ny >= MapSize || nx < 0 || nx >= MapSize) continue;
                    var j = ny * MapSize + nx;
                    if (labels[j] == 0 && filtered[j] > Threshold)
                    {
                        labels[j] = label;
                        queue.Enqueue(j);
                    }
                }
            }

            members.Sort();
            foreach (var i in members) sum += map[i];
            sums.Add(sum);
        }

        if (sums.Count == 0) return (0, 0);
        var best = 0;
        for (var i = 1; i < sums.Count; i++) if (sums[i] > sums[best]) best = i;
        var peak = -1;
        var value = double.NegativeInfinity;
        for (var i = 0; i < map.Length; i++)
        {
            var v = labels[i] == best + 1 ? map[i] : 0;
            if (v > value) (peak, value) = (i, v);
        }

        return ((int)((double)(peak % MapSize) * cropSize / MapSize), (int)((double)(peak / MapSize) * cropSize / MapSize));
    }

    private static Rgb8Image Blur(Rgb8Image crop, CancellationToken cancellationToken)
    {
        var plane = crop.Height * crop.Width;
        var pixels = new byte[3 * plane];
        var channel = new byte[plane];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < plane; i++) channel[i] = crop.Pixels[3 * i + c];
            var blurred = OpenCvGaussianBlur.BlurBytes(channel, crop.Height, crop.Width, BlurSigma, cancellationToken);
            for (var i = 0; i < plane; i++) pixels[3 * i + c] = blurred[i];
        }

        return new Rgb8Image(crop.Height, crop.Width, pixels);
    }

    private static double[] Float32(double[] values)
    {
        for (var i = 0; i < values.Length; i++) values[i] = (float)values[i];
        return values;
    }
}
