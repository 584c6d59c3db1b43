namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>The OpenPose body annotator's <c>candidate</c> and <c>subset</c>: every peak, and the people kept.</summary>
/// <param name="Candidates">Every part's peaks, by id.</param>
/// <param name="Subsets">Per person: the 18 parts' candidate ids (−1 for none), the total score, the part count.</param>
public sealed record OpenPoseBodyResult(IReadOnlyList<OpenPoseBodyPeak> Candidates, IReadOnlyList<double[]> Subsets)
{
    /// <summary>The people in OpenPose's layout (body only), in pixels of the decoded image; each point scored by its heatmap.</summary>
    public IReadOnlyList<OpenPoseKeypoints> People() =>
    [
        .. Subsets.Select(person => new OpenPoseKeypoints(
            [.. Enumerable.Range(0, 18).Select(p => person[p] < 0 ? (PoseKeypoint?)null
                : Candidates[(int)person[p]] is var c ? new PoseKeypoint(c.X, c.Y, (float)c.Score) : null)],
            null, null, null)),
    ];
}
