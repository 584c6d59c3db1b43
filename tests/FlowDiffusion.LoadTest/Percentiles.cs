namespace FlowDiffusion.LoadTest;

/// <summary>Nearest-rank percentiles of a sample of durations.</summary>
internal static class Percentiles
{
    /// <summary>"p50 … / p95 … / p99 … / max …" in milliseconds.</summary>
    public static string Describe(IReadOnlyCollection<TimeSpan> sample)
    {
        if (sample.Count == 0) return "no samples";
        var sorted = sample.Select(s => s.TotalMilliseconds).Order().ToArray();
        double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
        return $"p50 {At(50):F0} ms, p95 {At(95):F0} ms, p99 {At(99):F0} ms, max {sorted[^1]:F0} ms";
    }
}
