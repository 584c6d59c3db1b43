namespace FlowDiffusion.Diffusion.Guidance;

/// <summary>
/// ComfyUI's APG, Adaptive Projected Guidance (Sadat et al. 2024), as its pre-CFG function runs on x₀ estimates: the
/// guidance g = c − u, optionally a running average (r ← momentum·r + g, starting at g, and starting over whenever sigma
/// rises, as at the start of another run), its length over each batch item capped at <c>norm_threshold</c>, then split
/// into its part along the conditional estimate c (each batch item's unit vector) and the rest, the parallel part weighted
/// by η. The conditional estimate becomes u + g′ + (c − u)/s, so that CFG at scale s gives c + s·g′.
/// </summary>
/// <remarks>
/// One instance is one running average: a guider keeps its own for the evaluations of its runs. Calls are serialised, so
/// two runs sharing a cached guider cannot tear the average (they still share it, as runs sharing ComfyUI's patched model do).
/// </remarks>
/// <param name="eta">The weight of the parallel part (1 keeps it; ComfyUI's range −10 … 10).</param>
/// <param name="normThreshold">The cap on each item's guidance length; 0 for none.</param>
/// <param name="momentum">The running average's factor; 0 for none (ComfyUI's range −5 … 1).</param>
public sealed class ProjectedGuidance(double eta, double normThreshold, double momentum)
{
    private readonly Lock _gate = new();
    private double[]? _average;
    private double? _previousSigma;

    /// <summary>Replaces <paramref name="conditional"/> with APG's modified conditional estimate.</summary>
    /// <param name="conditional">The conditional x₀ estimate, [batch, …]; changed in place.</param>
    /// <param name="unconditional">The unconditional x₀ estimate (zeros where ComfyUI skips the unconditional half at scale 1).</param>
    /// <param name="scale">The CFG scale (not 0: ComfyUI divides by it).</param>
    /// <param name="sigma">The evaluation's noise level.</param>
    /// <param name="batch">Batch items; each is its own vector for the cap and the projection.</param>
    public void Apply(Span<double> conditional, ReadOnlySpan<double> unconditional, double scale, double sigma, int batch)
    {
        if (conditional.Length != unconditional.Length || batch < 1 || conditional.Length % batch != 0)
            throw new ArgumentException("the conditional and unconditional estimates must have the same length, a whole number of batch items");
        lock (_gate) ApplyLocked(conditional, unconditional, scale, sigma, batch);
    }

    private void ApplyLocked(Span<double> conditional, ReadOnlySpan<double> unconditional, double scale, double sigma, int batch)
    {
        if (_previousSigma is { } previous && sigma > previous) _average = null;
        _previousSigma = sigma;

        var guidance = new double[conditional.Length];
        for (var i = 0; i < guidance.Length; i++) guidance[i] = conditional[i] - unconditional[i];
        if (momentum != 0)
        {
            // A batch of another size cannot continue the average: it starts over.
            if (_average is null || _average.Length != guidance.Length)
            {
                _average = (double[])guidance.Clone();
            }
            else
            {
                for (var i = 0; i < guidance.Length; i++) _average[i] = momentum * _average[i] + guidance[i];
            }

            _average.CopyTo(guidance, 0);
        }

        var item = guidance.Length / batch;
        for (var b = 0; b < batch; b++)
        {
            var g = guidance.AsSpan(b * item, item);
            var c = conditional.Slice(b * item, item);
            if (normThreshold > 0)
            {
                // min(1, threshold / ‖g‖): a zero guidance divides to infinity there and is left as it is.
                var length = Math.Sqrt(Dot(g, g));
                var cap = Math.Min(1, normThreshold / length);
                for (var i = 0; i < item; i++) g[i] *= cap;
            }

            // torch's normalize: c / max(‖c‖, 1e-12).
            var norm = Math.Max(Math.Sqrt(Dot(c, c)), 1e-12);
            var along = Dot(g, c) / norm;
            for (var i = 0; i < item; i++)
            {
                var parallel = along * c[i] / norm;
                var modified = g[i] - parallel + eta * parallel;
                var u = unconditional[(b * item) + i];
                c[i] = u + modified + ((c[i] - u) / scale);
            }
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
