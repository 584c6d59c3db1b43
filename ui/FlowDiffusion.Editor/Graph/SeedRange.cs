namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// The values a seed may take: its declared range, each bound clamped to [0, 2³²−1], and 0 to 2³²−1 where none is
/// declared (as ComfyUI users expect).
/// </summary>
/// <param name="Low">The smallest seed.</param>
/// <param name="High">The largest seed.</param>
public readonly record struct SeedRange(long Low, long High)
{
    /// <summary>The range of a seed declared with <paramref name="min"/> and <paramref name="max"/> (either may be null).</summary>
    public static SeedRange Of(double? min, double? max)
    {
        var low = (long)Math.Clamp(Math.Ceiling(min ?? 0), 0, uint.MaxValue);
        var high = (long)Math.Clamp(Math.Floor(max ?? uint.MaxValue), low, uint.MaxValue);
        return new SeedRange(low, high);
    }

    /// <summary>A random seed in the range.</summary>
    public long Roll(Random random) => random.NextInt64(Low, High + 1);

    /// <summary>
    /// The seed one step up (<paramref name="up"/>) or down from <paramref name="current"/>, wrapping around the range:
    /// up from <see cref="High"/> is <see cref="Low"/>, down from <see cref="Low"/> is <see cref="High"/>. Wrapping rather
    /// than stopping at the end keeps every run on a new seed. A seed outside the range, or not a whole number, starts
    /// over where the step leads: <see cref="Low"/> going up, <see cref="High"/> going down.
    /// </summary>
    public long Step(long? current, bool up) => current switch
    {
        { } value when up && value >= Low && value < High => value + 1,
        { } value when !up && value > Low && value <= High => value - 1,
        _ => up ? Low : High,
    };
}
