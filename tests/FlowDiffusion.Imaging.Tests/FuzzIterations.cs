namespace FlowDiffusion.Testing;

/// <summary>
/// How many cases each fuzz property tries: a fixed number in CI, more on demand with
/// <c>FLOWDIFFUSION_FUZZ_ITERATIONS=200000 dotnet test … --filter Fuzz</c> (see docs/security.md).
/// </summary>
internal static class FuzzIterations
{
    public static long Count(long ci) =>
        long.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : ci;
}
