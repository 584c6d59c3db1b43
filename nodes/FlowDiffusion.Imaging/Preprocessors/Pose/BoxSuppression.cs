namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// Greedy non-maximum suppression as YOLOX's demo code runs it: boxes in descending score order, each kept one removing
/// the later ones whose overlap with it is above the threshold. Areas and intersections count pixels inclusively
/// (width = x2 − x1 + 1), as that code does.
/// </summary>
public static class BoxSuppression
{
    /// <summary>The boxes that survive, highest score first.</summary>
    /// <param name="boxes">Candidate boxes of one class.</param>
    /// <param name="iouThreshold">A box overlapping a kept one by more than this (intersection over union) is dropped.</param>
    public static List<PersonBox> Greedy(IReadOnlyList<PersonBox> boxes, float iouThreshold)
    {
        var order = Enumerable.Range(0, boxes.Count).OrderByDescending(i => boxes[i].Score).ToList();
        var removed = new bool[boxes.Count];
        var kept = new List<PersonBox>();
        for (var o = 0; o < order.Count; o++)
        {
            var i = order[o];
            if (removed[i]) continue;
            kept.Add(boxes[i]);
            for (var p = o + 1; p < order.Count; p++)
            {
                var j = order[p];
                if (!removed[j] && Overlap(boxes[i], boxes[j]) > iouThreshold) removed[j] = true;
            }
        }
        return kept;
    }

    /// <summary>Intersection over union with inclusive pixel counts.</summary>
    /// <param name="a">One box.</param>
    /// <param name="b">The other.</param>
    public static float Overlap(PersonBox a, PersonBox b)
    {
        var w = Math.Max(0f, Math.Min(a.X2, b.X2) - Math.Max(a.X1, b.X1) + 1);
        var h = Math.Max(0f, Math.Min(a.Y2, b.Y2) - Math.Max(a.Y1, b.Y1) + 1);
        var intersection = w * h;
        var union = Area(a) + Area(b) - intersection;
        return union > 0 ? intersection / union : 0f;
    }

    private static float Area(PersonBox box) => (box.X2 - box.X1 + 1) * (box.Y2 - box.Y1 + 1);
}
