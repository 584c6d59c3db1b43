namespace FlowDiffusion.Editor.Graph;

/// <summary>A new random seed within a seed's declared range (0 to 2³²−1 where none is declared, as ComfyUI users expect).</summary>
public static class SeedRoll
{
    /// <summary>A seed in [<paramref name="min"/>, <paramref name="max"/>], each bound clamped to [0, 2³²−1].</summary>
    public static long Next(Random random, double? min, double? max)
    {
        var low = (long)Math.Clamp(Math.Ceiling(min ?? 0), 0, uint.MaxValue);
        var high = (long)Math.Clamp(Math.Floor(max ?? uint.MaxValue), low, uint.MaxValue);
        return random.NextInt64(low, high + 1);
    }
}
