namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// One person in OpenPose's layout, from COCO-WholeBody's 133 keypoints as the DWPose annotator regroups them: the 18
/// body points (nose, neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist, right hip/knee/ankle, left
/// hip/knee/ankle, right eye, left eye, right ear, left ear), the neck being the shoulders' midpoint, confident when both
/// shoulders are; the 21 points of each hand; the 68 face points plus the two eyes. A point below
/// <see cref="VisibleScore"/> is absent (null); a part with no point present is null.
/// </summary>
/// <param name="Body">The 18 body points.</param>
/// <param name="LeftHand">The 21 left-hand points, or null.</param>
/// <param name="RightHand">The 21 right-hand points, or null.</param>
/// <param name="Face">The 68 face points and the two eyes, or null.</param>
public sealed record OpenPoseKeypoints(PoseKeypoint?[] Body, PoseKeypoint?[]? LeftHand, PoseKeypoint?[]? RightHand, PoseKeypoint?[]? Face)
{
    /// <summary>The confidence from which a keypoint is drawn.</summary>
    public const float VisibleScore = 0.3f;

    /// <summary>The COCO keypoint each OpenPose body point comes from; −1 for the neck.</summary>
    public static IReadOnlyList<int> BodyFromCoco { get; } = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3];

    private const int LeftShoulder = 5, RightShoulder = 6, FaceStart = 23, FacePoints = 68, LeftHandStart = 91, RightHandStart = 112, HandPoints = 21;

    /// <summary>The person from COCO-WholeBody keypoints (133; with only the 17 body points, hands and face are null).</summary>
    /// <param name="keypoints">The keypoints in COCO-WholeBody order, in image pixels.</param>
    public static OpenPoseKeypoints FromCocoWholeBody(IReadOnlyList<PoseKeypoint> keypoints)
    {
        if (keypoints.Count < 17) throw new ArgumentException($"COCO poses have at least 17 keypoints, got {keypoints.Count}", nameof(keypoints));
        var body = new PoseKeypoint?[18];
        for (var i = 0; i < 18; i++)
        {
            PoseKeypoint point;
            if (BodyFromCoco[i] >= 0) point = keypoints[BodyFromCoco[i]];
            else
            {
                PoseKeypoint left = keypoints[LeftShoulder], right = keypoints[RightShoulder];
                var confident = left.Score > VisibleScore && right.Score > VisibleScore;
                point = new PoseKeypoint((left.X + right.X) / 2, (left.Y + right.Y) / 2, confident ? 1f : 0f);
            }
            body[i] = Visible(point);
        }

        var whole = keypoints.Count >= RightHandStart + HandPoints;
        var face = whole ? Part(keypoints, FaceStart, FacePoints) : null;
        if (face is not null) face = [.. face, body[14], body[15]];
        return new OpenPoseKeypoints(body,
            whole ? Part(keypoints, LeftHandStart, HandPoints) : null,
            whole ? Part(keypoints, RightHandStart, HandPoints) : null,
            face);
    }

    private static PoseKeypoint? Visible(PoseKeypoint point) => point.Score >= VisibleScore ? point : null;

    private static PoseKeypoint?[]? Part(IReadOnlyList<PoseKeypoint> keypoints, int start, int count)
    {
        var part = new PoseKeypoint?[count];
        for (var i = 0; i < count; i++) part[i] = Visible(keypoints[start + i]);
        return part.Any(p => p is not null) ? part : null;
    }
}
