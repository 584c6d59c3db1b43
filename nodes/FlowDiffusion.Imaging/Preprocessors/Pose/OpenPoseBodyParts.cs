namespace FlowDiffusion.Imaging.Preprocessors.Pose;

/// <summary>
/// The OpenPose body annotator's decoding of its heatmaps and part affinity fields into people (the ControlNet
/// annotators' <c>Body.__call__</c> after the network, step for step in float64):
/// <list type="bullet">
/// <item>per part, the heatmap filtered with <see cref="ScipyGaussianFilter"/> at σ 3; peaks where the filtered value is at
/// least its four neighbours' (0 past the edges) and above 0.1, in row-major order, scored by the unfiltered heatmap and
/// numbered across parts;</item>
/// <item>per limb, every pair of its two parts' peaks scored along 10 points of the segment (numpy's linspace, rounded half
/// to even) by the PAF's projection on the unit direction; kept when more than 80 % of the samples pass 0.05 and the mean
/// plus min(0.5 · height / length − 1, 0) is positive; taken greedily by that score, each peak once, at most
/// min(count A, count B) pairs;</item>
/// <item>the people assembled limb by limb (a pair joins the person holding either end, merges two disjoint people, or starts
/// one for the first 17 limbs), then those with fewer than 4 parts or a mean score under 0.4 dropped.</item>
/// </list>
/// A part with more than <see cref="MaxPeaks"/> peaks keeps its first <see cref="MaxPeaks"/> (in scan order) so the pairing stays bounded.
/// Where the annotator would fail (a pair touching three people), the third is ignored.
/// </summary>
public static class OpenPoseBodyParts
{
    /// <summary>The most peaks kept per part.</summary>
    public const int MaxPeaks = 1000;

    /// <summary>The limbs as (part, part), 1-based as the annotator lists them: 17 drawn limbs and the two ear–shoulder links.</summary>
    public static IReadOnlyList<(int A, int B)> Limbs { get; } =
    [
        (2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13), (13, 14),
        (2, 1), (1, 15), (15, 17), (1, 16), (16, 18), (3, 17), (6, 18),
    ];

    /// <summary>Each limb's PAF channels (x, y) in the network's 38.</summary>
    public static IReadOnlyList<(int X, int Y)> LimbPafs { get; } =
    [
        (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11),
        (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
    ];

    private const int Parts = 18, MidPoints = 10;
    private const double PeakThreshold = 0.1, PafThreshold = 0.05, Sigma = 3;

    /// <summary>Decodes the maps of an image of <paramref name="height"/> × <paramref name="width"/>.</summary>
    /// <param name="height">The image's height (the maps' too).</param>
    /// <param name="width">Its width.</param>
    /// <param name="heatmap">Part p's heatmap (0–17), height × width values; each asked for once.</param>
    /// <param name="paf">PAF channel c (0–37), height × width values; each asked for once.</param>
    /// <param name="cancellationToken">Stops between parts and limbs.</param>
    public static OpenPoseBodyResult Decode(int height, int width, Func<int, double[]> heatmap, Func<int, double[]> paf, CancellationToken cancellationToken = default)
    {
        var peaks = new List<OpenPoseBodyPeak>[Parts];
        var candidates = new List<OpenPoseBodyPeak>();
        for (var part = 0; part < Parts; part++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            peaks[part] = Peaks(heatmap(part), height, width, candidates.Count);
            candidates.AddRange(peaks[part]);
        }

        var connections = new List<double[]>?[Limbs.Count];
        for (var k = 0; k < Limbs.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (a, b) = Limbs[k];
            if (peaks[a - 1].Count == 0 || peaks[b - 1].Count == 0) continue;
            connections[k] = Connect(peaks[a - 1], peaks[b - 1], paf(LimbPafs[k].X), paf(LimbPafs[k].Y), height, width);
        }

        return new OpenPoseBodyResult(candidates, Assemble(connections, candidates));
    }

    /// <summary>One part's peaks, numbered from <paramref name="firstId"/>.</summary>
    public static List<OpenPoseBodyPeak> Peaks(double[] map, int height, int width, int firstId)
    {
        var filtered = ScipyGaussianFilter.Apply(map, height, width, Sigma);
        var peaks = new List<OpenPoseBodyPeak>();
        for (var y = 0; y < height && peaks.Count < MaxPeaks; y++)
        for (var x = 0; x < width && peaks.Count < MaxPeaks; x++)
        {
            var v = filtered[y * width + x];
            var above = y > 0 ? filtered[(y - 1) * width + x] : 0;
            var below = y < height - 1 ? filtered[(y + 1) * width + x] : 0;
            var left = x > 0 ? filtered[y * width + x - 1] : 0;
            var right = x < width - 1 ? filtered[y * width + x + 1] : 0;
            if (v >= above && v >= below && v >= left && v >= right && v > PeakThreshold)
                peaks.Add(new OpenPoseBodyPeak(x, y, map[y * width + x], firstId + peaks.Count));
        }

        return peaks;
    }

    // The annotator's connection rows: [id A, id B, score, i, j].
    private static List<double[]> Connect(List<OpenPoseBodyPeak> from, List<OpenPoseBodyPeak> to, double[] pafX, double[] pafY, int height, int width)
    {
        var scored = new List<(int I, int J, double Score)>();
        var samples = new double[MidPoints];
        for (var i = 0; i < from.Count; i++)
        for (var j = 0; j < to.Count; j++)
        {
            PeakPair(from[i], to[j], pafX, pafY, height, width, samples, out var score);
            var passing = 0;
            foreach (var s in samples) if (s > PafThreshold) passing++;
            if (passing > 0.8 * MidPoints && score > 0) scored.Add((i, j, score));
        }

        var connection = new List<double[]>();
        var usedA = new HashSet<int>();
        var usedB = new HashSet<int>();
        foreach (var (i, j, score) in scored.OrderByDescending(c => c.Score))
        {
            if (usedA.Contains(i) || usedB.Contains(j)) continue;
            usedA.Add(i);
            usedB.Add(j);
            connection.Add([from[i].Id, to[j].Id, score, i, j]);
            if (connection.Count >= Math.Min(from.Count, to.Count)) break;
        }

        return connection;
    }

    /// <summary>One pair's PAF samples and its score with the distance prior, as the annotator computes them.</summary>
    public static void PeakPair(OpenPoseBodyPeak a, OpenPoseBodyPeak b, double[] pafX, double[] pafY, int height, int width, double[] samples, out double score)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y;
        var norm = Math.Max(0.001, Math.Sqrt(dx * dx + dy * dy));
        double ux = dx / norm, uy = dy / norm;
        var count = samples.Length;
        double stepX = dx / (count - 1), stepY = dy / (count - 1);
        var sum = 0.0;
        for (var s = 0; s < count; s++)
        {
            // numpy's linspace: start + s·step, the last sample the end itself.
            double sx = s == count - 1 ? b.X : stepX == 0 ? a.X : s * stepX + a.X;
            double sy = s == count - 1 ? b.Y : stepY == 0 ? a.Y : s * stepY + a.Y;
            var row = Math.Clamp((int)Math.Round(sy, MidpointRounding.ToEven), 0, height - 1);
            var column = Math.Clamp((int)Math.Round(sx, MidpointRounding.ToEven), 0, width - 1);
            samples[s] = pafX[row * width + column] * ux + pafY[row * width + column] * uy;
            sum += samples[s];
        }

        score = sum / count + Math.Min(0.5 * height / norm - 1, 0);
    }

    // The annotator's subset rows: the 18 parts' candidate ids (−1 for none), the total score, the part count.
    private static List<double[]> Assemble(List<double[]>?[] connections, List<OpenPoseBodyPeak> candidates)
    {
        var subset = new List<double[]>();
        for (var k = 0; k < Limbs.Count; k++)
        {
            if (connections[k] is not { } connection) continue;
            int indexA = Limbs[k].A - 1, indexB = Limbs[k].B - 1;
            foreach (var row in connection)
            {
                double partA = row[0], partB = row[1], score = row[2];
                var found = 0;
                int[] index = [-1, -1];
                for (var j = 0; j < subset.Count && found < 2; j++)
                {
                    if (subset[j][indexA] == partA || subset[j][indexB] == partB) index[found++] = j;
                }

                if (found == 1)
                {
                    var person = subset[index[0]];
                    if (person[indexB] != partB)
                    {
                        person[indexB] = partB;
                        person[Parts + 1] += 1;
                        person[Parts] += candidates[(int)partB].Score + score;
                    }
                }
                else if (found == 2)
                {
                    double[] first = subset[index[0]], second = subset[index[1]];
                    var shared = false;
                    for (var p = 0; p < Parts; p++) shared |= first[p] >= 0 && second[p] >= 0;
                    if (!shared)
                    {
                        for (var p = 0; p < Parts; p++) first[p] += second[p] + 1;
                        first[Parts] += second[Parts];
                        first[Parts + 1] += second[Parts + 1];
                        first[Parts] += score;
                        subset.RemoveAt(index[1]);
                    }
                    else
                    {
                        first[indexB] = partB;
                        first[Parts + 1] += 1;
                        first[Parts] += candidates[(int)partB].Score + score;
                    }
                }
                else if (k < 17)
                {
                    var person = new double[Parts + 2];
                    Array.Fill(person, -1);
                    person[indexA] = partA;
                    person[indexB] = partB;
                    person[Parts + 1] = 2;
                    person[Parts] = candidates[(int)partA].Score + candidates[(int)partB].Score + score;
                    subset.Add(person);
                }
            }
        }

        subset.RemoveAll(p => p[Parts + 1] < 4 || p[Parts] / p[Parts + 1] < 0.4);
        return subset;
    }
}
