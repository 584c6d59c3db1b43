using System.Text.Json;
using FlowDiffusion.Diffusion.LatentOperations;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.LatentOperations;

/// <summary>
/// ComfyUI's LatentOperationTonemapReinhard and LatentOperationSharpen (<see cref="ReinhardTonemap"/>, <see cref="LatentSharpen"/>)
/// against torch (tools/comfy/latent_operations_reference.py): batches of 1 and 2 (each item its own mean and std), sharpen
/// radii from 2 to ComfyUI's default 9 on latents just larger than the radius (reflection reaching across the whole
/// latent). 10⁻⁹ relative, as both run in float64.
/// </summary>
public sealed class LatentOperationsTests
{
    private static readonly JsonElement Cases =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy", "latent_operations.json"))).RootElement.GetProperty("latent_operations");

    public static TheoryData<string> Names => [.. Cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_torch(string name)
    {
        var c = Cases.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var shape = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var latent = c.GetProperty("latent").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var expected = c.GetProperty("expected").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var operation = LatentOperation.Named(c.GetProperty("operation").GetString()!, c.TryGetProperty("multiplier", out var m) ? m.GetDouble() : 1,
            c.TryGetProperty("sharpen_radius", out var r) ? r.GetInt32() : 9, c.TryGetProperty("sigma", out var s) ? s.GetDouble() : 1,
            c.TryGetProperty("alpha", out var a) ? a.GetDouble() : 0.1)!;
        var input = (double[])latent.Clone();

        operation.Apply(latent, shape[0], shape[1], shape[2], shape[3]);

        var moved = 0.0;
        for (var i = 0; i < latent.Length; i++)
        {
            Assert.True(Math.Abs(latent[i] - expected[i]) <= 1e-9 * (1 + Math.Abs(expected[i])), $"{name}, value {i}: {latent[i]}, torch {expected[i]}");
            moved = Math.Max(moved, Math.Abs(expected[i] - input[i]));
        }

        Assert.True(moved > 0.05, $"{name}: the operation moves the latents by at most {moved}");
    }

    [Fact]
    public void A_multiplier_of_0_gives_zero_latents_where_comfyui_gives_NaN()
    {
        double[] latent = [1, 2, 3, 4, -1, 0.5, 2, 1];
        new ReinhardTonemap(0).Apply(latent, 1, 2, 2, 2);
        Assert.All(latent, v => Assert.Equal(0, v));
    }

    [Theory]
    [InlineData("tonemap_reinhard", 101, 9, 1, 0.1, "multiplier must be 0 … 100")]
    [InlineData("sharpen", 1, 32, 1, 0.1, "sharpen_radius must be 1 … 31")]
    [InlineData("sharpen", 1, 9, 0.05, 0.1, "sigma must be 0.1 … 10")]
    [InlineData("sharpen", 1, 9, 1, 5.5, "alpha must be 0 … 5")]
    [InlineData("blur", 1, 9, 1, 0.1, "'blur' is not one of none, tonemap_reinhard, sharpen")]
    public void Settings_outside_comfyuis_ranges_are_refused(string name, double multiplier, int radius, double sigma, double alpha, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => LatentOperation.Named(name, multiplier, radius, sigma, alpha)).Message);
}
