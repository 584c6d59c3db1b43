namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// SimCC decoding as RTMPose does it: for each keypoint, the first argmax of its x and of its y classification vector,
/// divided by the split ratio (bins per input pixel) to give input pixels; its confidence is the lower of the two maxima,
/// and a keypoint whose confidence is not positive gets location −1 (before the division).
/// </summary>
public static class SimccDecoding
{
    /// <summary>The keypoints in input pixels with their confidences.</summary>
    /// <param name="simccX">[keypoints, binsX] row-major.</param>
    /// <param name="simccY">[keypoints, binsY] row-major.</param>
    /// <param name="keypoints">The number of keypoints.</param>
    /// <param name="splitRatioX">Bins per input pixel along x (binsX / input width: 2 for RTMPose).</param>
    /// <param name="splitRatioY">Bins per input pixel along y.</param>
    public static PoseKeypoint[] Decode(ReadOnlySpan<float> simccX, ReadOnlySpan<float> simccY, int keypoints, float splitRatioX, float splitRatioY)
    {
        if (keypoints < 1 || simccX.Length % keypoints != 0 || simccY.Length % keypoints != 0 || simccX.Length == 0 || simccY.Length == 0)
            throw new ArgumentException($"SimCC vectors of {simccX.Length} and {simccY.Length} values do not split into {keypoints} keypoints");
        int binsX = simccX.Length / keypoints, binsY = simccY.Length / keypoints;
        var result = new PoseKeypoint[keypoints];
        for (var k = 0; k < keypoints; k++)
        {
            var (x, maxX) = ArgMax(simccX.Slice(k * binsX, binsX));
            var (y, maxY) = ArgMax(simccY.Slice(k * binsY, binsY));
            var score = Math.Min(maxX, maxY);
            if (!(score > 0)) (x, y) = (-1, -1);
            result[k] = new PoseKeypoint(x / splitRatioX, y / splitRatioY, float.IsNaN(score) ? 0f : score);
        }
        return result;
    }

    private static (int Index, float Value) ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best] || float.IsNaN(values[best])) best = i;
        return (best, values[best]);
    }
}
