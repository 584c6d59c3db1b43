using FlowDiffusion.Diffusion.Noise;

namespace FlowDiffusion.Diffusion.KDiffusion;

/// <summary>
/// A seeded Brownian motion W over [σ_min, σ_max] for the SDE samplers, as ComfyUI's <c>BrownianTreeNoiseSampler</c>
/// uses one: a query for (σ, σ_next) answers (W(σ_next) − W(σ)) / √|σ_next − σ|, standard normal, and increments over
/// disjoint intervals are independent. W is one fixed function of the seed whatever times are asked — the point of a
/// Brownian tree: more steps refine the same path instead of drawing a new one.
/// </summary>
/// <remarks>
/// Built as a binary tree of Brownian-bridge midpoints: W(σ_min) = 0, W(σ_max) = √(σ_max − σ_min)·Z₁, and the midpoint
/// of an interval [a, b] is (W(a) + W(b))/2 + √(b − a)/2·Z_k, where Z_k is <c>torch.randn</c> of the latent size from a
/// generator seeded with a hash of (seed, node k). Bisection stops at intervals of 2⁻²⁰ of the range, where W is
/// interpolated linearly (its variance is then off by at most that fraction). The values are not torchsde's (it splits
/// its intervals at the queried times with its own seed tree), so an SDE sampler run here matches ComfyUI in distribution
/// and in its deterministic part, not bit for bit.
/// </remarks>
public sealed class BrownianTreeNoise
{
    private const int MaxDepth = 20;
    private readonly ulong seed;
    private readonly int length;
    private readonly double low;
    private readonly double high;
    private readonly float[] top;
    // The nodes of the last path walked, by heap index: consecutive queries share most of their path.
    private readonly Dictionary<ulong, float[]> path = [];

    /// <summary>A Brownian motion of <paramref name="length"/> independent coordinates over [<paramref name="sigmaMin"/>, <paramref name="sigmaMax"/>].</summary>
    /// <param name="seed">The seed (ComfyUI passes the KSampler's seed).</param>
    /// <param name="length">Values per query (the latent batch's size).</param>
    /// <param name="sigmaMin">The smallest positive sigma of the schedule.</param>
    /// <param name="sigmaMax">The largest sigma of the schedule.</param>
    public BrownianTreeNoise(ulong seed, int length, double sigmaMin, double sigmaMax)
    {
        if (!(sigmaMin >= 0 && sigmaMax > sigmaMin) || !double.IsFinite(sigmaMax))
            throw new ArgumentException($"a Brownian tree needs 0 <= sigma_min < sigma_max, got [{sigmaMin}, {sigmaMax}].");
        this.seed = seed;
        this.length = length;
        low = sigmaMin;
        high = sigmaMax;
        top = Draw(1);
        var scale = (float)Math.Sqrt(high - low);
        for (var i = 0; i < top.Length; i++) top[i] *= scale;
    }

    /// <summary>k-diffusion's <c>noise_sampler(sigma, sigma_next)</c>: the standardised increment of W between them.</summary>
    /// <param name="sigma">One end (inside the range).</param>
    /// <param name="sigmaNext">The other end (inside the range).</param>
    /// <param name="destination">Receives <see cref="SdeNoise"/>'s values.</param>
    public void Fill(double sigma, double sigmaNext, Span<float> destination)
    {
        if (destination.Length != length) throw new ArgumentException($"the tree holds {length} values per query, not {destination.Length}.");
        var from = At(sigma);
        var to = At(sigmaNext);
        var scale = 1 / Math.Sqrt(Math.Abs(sigmaNext - sigma));
        for (var i = 0; i < length; i++) destination[i] = (float)((to[i] - (double)from[i]) * scale);
    }

    /// <summary>W(<paramref name="t"/>) for t in [σ_min, σ_max] (clamped).</summary>
    /// <param name="t">The time (a sigma).</param>
    public float[] At(double t)
    {
        t = Math.Clamp(t, low, high);
        double a = low, b = high;
        float[]? wa = null; // W(low) = 0
        var wb = top;
        ulong node = 1;
        var walked = new HashSet<ulong>();
        float[]? exact = null;
        for (var depth = 0; depth < MaxDepth && exact is null; depth++)
        {
            if (t == a) exact = wa ?? new float[length];
            else if (t == b) exact = wb;
            if (exact is not null) break;
            var mid = (a + b) / 2;
            walked.Add(node);
            if (!path.TryGetValue(node, out var wm))
            {
                wm = Draw(node + 1);
                var scale = (float)(Math.Sqrt(b - a) / 2);
                for (var i = 0; i < length; i++) wm[i] = ((wa is null ? 0 : wa[i]) + wb[i]) / 2 + scale * wm[i];
                path[node] = wm;
            }

            if (t < mid)
            {
                b = mid;
                wb = wm;
                node *= 2;
            }
            else
            {
                a = mid;
                wa = wm;
                node = node * 2 + 1;
            }
        }

        // Keep only this path: the cache holds at most MaxDepth tensors however long the schedule.
        foreach (var stale in path.Keys.Where(k => !walked.Contains(k)).ToList()) path.Remove(stale);
        if (exact is not null) return (float[])exact.Clone();
        var w = (t - a) / (b - a);
        var result = new float[length];
        for (var i = 0; i < length; i++) result[i] = (float)((1 - w) * (wa is null ? 0 : wa[i]) + w * wb[i]);
        return result;
    }

    private float[] Draw(ulong node)
    {
        var values = new float[length];
        new TorchGenerator(SplitMix(seed ^ SplitMix(node))).FillStandardNormal(values);
        return values;
    }

    private static ulong SplitMix(ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
            return x ^ (x >> 31);
        }
    }
}
