using System.Text.Json;

namespace FlowDiffusion.Diffusion.Tests.Noise;

/// <summary>Reads the torch.randn reference values copied into TestData/noise.</summary>
internal static class NoiseOracle
{
    public static JsonElement Load(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "noise", fileName);
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement;
    }

    // Python ints: non-negative seeds up to 2^64 − 1, negative ones reinterpreted as torch does.
    public static ulong Seed(JsonElement seed) =>
        seed.TryGetUInt64(out var unsigned) ? unsigned : unchecked((ulong)seed.GetInt64());

    public static int[] Shape(JsonElement shape) => shape.EnumerateArray().Select(d => d.GetInt32()).ToArray();

    public static float[] Floats(JsonElement values) => values.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
}
