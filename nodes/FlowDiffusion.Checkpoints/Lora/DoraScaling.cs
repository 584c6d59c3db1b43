namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// DoRA's weight decomposition, as ComfyUI applies a <c>dora_scale</c> beside any LoRA-family factors: the updated
/// weight <c>W' = W + ΔW</c> is renormalised to the stored magnitudes, <c>W' · dora_scale / (‖·‖ + ε)</c>, then mixed in
/// at the strength: <c>W + strength · (W'' − W)</c>. With one magnitude per output row (dora_scale [out, 1, …]) the
/// norm is of the original weight's row; with one per input column (dora_scale [1, in, …], kohya's layout) the norm is
/// of the updated weight's column over the output rows and kernel. ε is float32's machine epsilon (2⁻²³).
/// </summary>
public static class DoraScaling
{
    private const float Epsilon = 1.1920929e-07f;

    /// <summary>Whether a dora_scale of <paramref name="scaleShape"/> fits a weight of <paramref name="shape"/>, and on which axis.</summary>
    /// <returns>true for one magnitude per output row, false per input column, null when it fits neither.</returns>
    public static bool? OnOutputAxis(IReadOnlyList<long> scaleShape, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(scaleShape);
        ArgumentNullException.ThrowIfNull(shape);
        var count = scaleShape.Aggregate(1L, (a, b) => a * b);
        if (scaleShape.Count == 0 || shape.Count < 2) return null;
        if (scaleShape[0] == shape[0] && count == shape[0]) return true;
        if (scaleShape[0] == 1 && scaleShape.Count >= 2 && scaleShape[1] == shape[1] && count == shape[1]) return false;
        return null;
    }

    /// <summary>
    /// Applies the decomposition to <paramref name="weight"/> (row-major <paramref name="shape"/>) in place, with
    /// <paramref name="delta"/> the scaled <c>ΔW</c> and <paramref name="magnitudes"/> the dora_scale's values.
    /// </summary>
    public static void Apply(float[] weight, float[] delta, float[] magnitudes, bool outputAxis, IReadOnlyList<long> shape, float strength)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(delta);
        ArgumentNullException.ThrowIfNull(magnitudes);
        ArgumentNullException.ThrowIfNull(shape);
        var rows = (int)shape[0];
        var inputs = (int)shape[1];
        var kernel = weight.Length / rows / inputs;
        var updated = new float[weight.Length];
        for (var i = 0; i < weight.Length; i++)
        {
            updated[i] = weight[i] + delta[i];
        }

        var factors = new float[outputAxis ? rows : inputs];
        if (outputAxis)
        {
            for (var o = 0; o < rows; o++)
            {
                var row = weight.AsSpan(o * inputs * kernel, inputs * kernel);
                factors[o] = magnitudes[o] / ((float)Math.Sqrt(SumOfSquares(row)) + Epsilon);
            }
        }
        else
        {
            for (var c = 0; c < inputs; c++)
            {
                double sum = 0;
                for (var o = 0; o < rows; o++)
                {
                    sum += SumOfSquares(updated.AsSpan(((o * inputs) + c) * kernel, kernel));
                }

                factors[c] = magnitudes[c] / ((float)Math.Sqrt(sum) + Epsilon);
            }
        }

        for (var i = 0; i < weight.Length; i++)
        {
            var factor = outputAxis ? factors[i / (inputs * kernel)] : factors[i / kernel % inputs];
            var renormalised = updated[i] * factor;
            weight[i] = strength == 1f ? renormalised : weight[i] + (strength * (renormalised - weight[i]));
        }
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var v in values)
        {
            sum += (double)v * v;
        }

        return sum;
    }
}
