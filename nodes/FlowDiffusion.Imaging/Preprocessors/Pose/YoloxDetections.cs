namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The people in a YOLOX detector's raw output [anchors, 5 + classes], decoded as its demo code does: anchors laid out
/// stride by stride (8, 16, 32, and 64 for P6 models), each stride's grid row-major; centre = (offset + cell) × stride,
/// size = exp(log-size) × stride; score = objectness × class probability (class 0, person); candidates above 0.1,
/// greedy non-maximum suppression at IoU 0.45, then people above 0.3, mapped back to image pixels by the letterbox ratio.
/// </summary>
public static class YoloxDetections
{
    /// <summary>The candidate score threshold before suppression.</summary>
    public const float CandidateScore = 0.1f;

    /// <summary>The IoU above which a lower-scored box is suppressed.</summary>
    public const float SuppressionOverlap = 0.45f;

    /// <summary>The score a person must exceed to be kept.</summary>
    public const float PersonScore = 0.3f;

    /// <summary>The strides of a detector whose output has <paramref name="anchors"/> rows for this input size, or null when none fits.</summary>
    /// <param name="anchors">The number of output rows.</param>
    /// <param name="inputHeight">The detector's input height.</param>
    /// <param name="inputWidth">The detector's input width.</param>
    public static int[]? Strides(int anchors, int inputHeight, int inputWidth)
    {
        int[][] layouts = [[8, 16, 32], [8, 16, 32, 64]];
        return layouts.FirstOrDefault(strides => strides.Sum(s => (inputHeight / s) * (inputWidth / s)) == anchors);
    }

    /// <summary>The people found, in image pixels, highest score first.</summary>
    /// <param name="predictions">The raw output, [anchors, values] row-major.</param>
    /// <param name="values">Values per anchor: 4 box terms, objectness, one probability per class.</param>
    /// <param name="strides">The strides the anchors are laid out in (<see cref="Strides"/>).</param>
    /// <param name="inputHeight">The detector's input height.</param>
    /// <param name="inputWidth">The detector's input width.</param>
    /// <param name="ratio">The letterbox scale from image to input pixels.</param>
    /// <param name="maxPeople">At most this many are returned.</param>
    public static List<PersonBox> People(ReadOnlySpan<float> predictions, int values, IReadOnlyList<int> strides, int inputHeight, int inputWidth, float ratio, int maxPeople)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(values, 6);
        var candidates = new List<PersonBox>();
        var row = 0;
        foreach (var stride in strides)
        {
            int rows = inputHeight / stride, columns = inputWidth / stride;
            for (var gy = 0; gy < rows; gy++)
            for (var gx = 0; gx < columns; gx++, row++)
            {
                var p = predictions.Slice(row * values, values);
                var score = p[4] * p[5];
                if (!(score > CandidateScore)) continue;
                float cx = (p[0] + gx) * stride, cy = (p[1] + gy) * stride;
                float w = MathF.Exp(p[2]) * stride, h = MathF.Exp(p[3]) * stride;
                if (!float.IsFinite(cx) || !float.IsFinite(cy) || !float.IsFinite(w) || !float.IsFinite(h)) continue;
                candidates.Add(new PersonBox((cx - w / 2) / ratio, (cy - h / 2) / ratio, (cx + w / 2) / ratio, (cy + h / 2) / ratio, score));
            }
        }
        return [.. BoxSuppression.Greedy(candidates, SuppressionOverlap).Where(b => b.Score > PersonScore).Take(maxPeople)];
    }
}
