namespace FlowDiffusion.Diffusion.Schedulers;

/// <summary>Builds the doubled schedules of the second-order samplers (Heun, KDPM2).</summary>
internal static class Interleave
{
    /// <summary>
    /// [v0, v1, v1, …, v(n−1), v(n−1)] when <paramref name="lastTwice"/>, i.e. torch.cat([v[:1], v[1:].repeat_interleave(2)]);
    /// otherwise [v0, v1, v1, …, v(n−2), v(n−2), v(n−1)], i.e. the interior repeated and the last kept once.
    /// </summary>
    public static float[] RepeatInterior(float[] values, bool lastTwice)
    {
        var result = new List<float>(values.Length * 2) { values[0] };
        var end = lastTwice ? values.Length : values.Length - 1;
        for (var i = 1; i < end; i++)
        {
            result.Add(values[i]);
            result.Add(values[i]);
        }

        if (!lastTwice && values.Length > 1) result.Add(values[^1]);
        return [.. result];
    }

    /// <summary>[v0, v1, v1, …, v(n−1), v(n−1), v(n−1)]: torch.cat([v[:1], v[1:].repeat_interleave(2), v[-1:]]).</summary>
    public static float[] RepeatAllWithTail(float[] values)
    {
        var result = RepeatInterior(values, lastTwice: true).ToList();
        result.Add(values[^1]);
        return [.. result];
    }
}
