using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Regions;

/// <summary>
/// One guided step over conditionings restricted to areas and masks, with ComfyUI's semantics (<c>calc_cond_batch</c>):
/// each conditioning's model runs on its rectangle of the latent only (conditionings of equal rectangle share one batched
/// call), and each list's prediction is Σ weight·prediction / Σ weight per latent pixel, the weights being
/// <see cref="ResolvedRegion.Weights"/>; where no conditioning of a list has weight the list predicts 0. Before that, as
/// ComfyUI's <c>process_conds</c> does, every conditioning with an area gets a partner in the other list: the smallest
/// conditioning there whose area encloses it (else the first without area), with the same area, mask and strengths.
/// </summary>
internal static class RegionalPrediction
{
    /// <summary>Whether any of <paramref name="conditionings"/> is restricted to an area or mask.</summary>
    public static bool Any(IEnumerable<Conditioning> conditionings) => conditionings.Any(c => ConditioningRegion.Of(c) is not null);

    /// <summary>The unconditional and conditional predictions, [batch, out channels, h, w] each (the first null when there are no negatives).</summary>
    public static async Task<(float[]? Negative, float[] Positive)> PredictAsync(
        IDenoiser denoiser, IReadOnlyList<Conditioning> negatives, IReadOnlyList<Conditioning> positives, bool withNegatives, GuidanceInput input, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        int height = shape.Height, width = shape.Width, batch = shape.Batch;
        var lists = new[] { Resolve(negatives, 0, height, width), Resolve(positives, 1, height, width) };
        Partner(lists[1], lists[0]);
        Partner(lists[0], lists[1]);
        // Conditionings limited to part of the schedule act only there; partners keep the range of the conditioning they copy.
        var entries = (withNegatives ? lists[0].Concat(lists[1]) : lists[1])
            .Where(e => ActingParts.ActsAt(e.Conditioning, input))
            .Select(e => e.For(ActingParts.Strip(e.Conditioning), e.List)).ToList();
        if (!entries.Any(e => e.List == 1)) throw ActingParts.Uncovered("positive", input);
        if (withNegatives && !entries.Any(e => e.List == 0)) throw ActingParts.Uncovered("negative", input);

        var outChannels = denoiser.OutChannels;
        var plane = height * width;
        var sums = new float[2][];
        var counts = new float[2][];
        for (var l = 0; l < 2; l++)
        {
            sums[l] = new float[batch * outChannels * plane];
            counts[l] = new float[batch * plane];
            Array.Fill(counts[l], 1e-37f);
        }

        foreach (var group in entries.GroupBy(e => (e.Clipped(height, width).H, e.Clipped(height, width).W)))
        {
            var members = group.ToList();
            var (h, w) = group.Key;
            var channels = shape.Channels;
            var item = channels * h * w;
            var sample = new float[members.Count * batch * item];
            var model = input.ModelInput.Span;
            for (var m = 0; m < members.Count; m++)
            {
                var (y0, x0, _, _) = members[m].Clipped(height, width);
                for (var b = 0; b < batch; b++)
                for (var c = 0; c < channels; c++)
                for (var y = 0; y < h; y++)
                    model.Slice(((b * channels + c) * height + y0 + y) * width + x0, w).CopyTo(sample.AsSpan(((m * batch + b) * channels + c) * h * w + y * w, w));
            }

            Conditioning context;
            try
            {
                context = Conditioning.Batched([.. members.Select(m => new ConditioningRows(m.Conditioning, batch))]);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"the regional conditionings cannot be batched together: {e.Message}", e);
            }

            var predicted = new float[members.Count * batch * outChannels * h * w];
            await denoiser.PredictAsync(new DenoiserInput(sample, new LatentShape(members.Count * batch, channels, h, w), input.Timestep, context), predicted, cancellationToken);
            for (var m = 0; m < members.Count; m++)
            {
                var entry = members[m];
                var (y0, x0, _, _) = entry.Clipped(height, width);
                var sum = sums[entry.List];
                var count = counts[entry.List];
                for (var b = 0; b < batch; b++)
                {
                    var weights = entry.Weights(b, batch, height, width);
                    for (var y = 0; y < h; y++)
                    for (var x = 0; x < w; x++)
                    {
                        var weight = weights[y * w + x];
                        var pixel = (y0 + y) * width + x0 + x;
                        count[b * plane + pixel] += weight;
                        for (var c = 0; c < outChannels; c++)
                            sum[(b * outChannels + c) * plane + pixel] += predicted[(((m * batch + b) * outChannels + c) * h + y) * w + x] * weight;
                    }
                }
            }
        }

        for (var l = 0; l < 2; l++)
        for (var b = 0; b < batch; b++)
        for (var c = 0; c < outChannels; c++)
        for (var p = 0; p < plane; p++)
            sums[l][(b * outChannels + c) * plane + p] /= counts[l][b * plane + p];
        return (withNegatives ? sums[0] : null, sums[1]);
    }

    private static List<ResolvedRegion> Resolve(IReadOnlyList<Conditioning> conditionings, int list, int height, int width) =>
        [.. conditionings.Select(c => ResolvedRegion.Of(c, list, height, width))];

    // ComfyUI's create_cond_with_same_area_if_none, for every conditioning of `from` (partners added to `to` count as candidates).
    private static void Partner(List<ResolvedRegion> from, List<ResolvedRegion> to)
    {
        foreach (var entry in from)
        {
            if (entry.Area is not { } area) continue;
            ResolvedRegion? smallest = null;
            foreach (var candidate in to)
            {
                if (candidate.Area is { } a)
                {
                    if (!Inside(area, a)) continue;
                    if (smallest?.Area is not { } s || (long)s.H * s.W > (long)a.H * a.W) smallest = candidate;
                }
                else
                {
                    smallest ??= candidate;
                }
            }

            if (smallest is null || smallest.Area == area) continue;
            to.Add(entry.For(smallest.Conditioning, smallest.List));
        }
    }

    private static bool Inside((int Y, int X, int H, int W) inner, (int Y, int X, int H, int W) outer) =>
        inner.Y >= outer.Y && inner.X >= outer.X && inner.Y + inner.H <= outer.Y + outer.H && inner.X + inner.W <= outer.X + outer.W;
}
