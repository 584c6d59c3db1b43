using System.Text.Json;
using FlowDiffusion.Diffusion.KDiffusion;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

/// <summary>er_sde with SamplerER_SDE's settings against tools/comfy/er_sde_reference.py (float64, the same toy denoiser and sine noise).</summary>
public sealed partial class KSamplerTests
{
    private static readonly Lazy<JsonElement> ErSdeReference = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy", "er_sde.json"))).RootElement.GetProperty("cases"));

    public static TheoryData<int> ErSdeCases() => new(Enumerable.Range(0, ErSdeReference.Value.GetArrayLength()));

    [Theory]
    [MemberData(nameof(ErSdeCases))]
    public async Task Er_sde_solver_types_stages_and_noise_follow_the_ER_SDE_solver_definition_on_a_toy_denoiser(int index)
    {
        var c = ErSdeReference.Value[index];
        var given = c.GetProperty("parameters");
        var parameters = KSamplerParameters.Default with
        {
            Eta = given.TryGetProperty("eta", out var eta) ? eta.GetDouble() : 1,
            SNoise = given.TryGetProperty("s_noise", out var sNoise) ? sNoise.GetDouble() : 1,
            MaxStage = given.TryGetProperty("max_stage", out var stage) ? stage.GetInt32() : 3,
            ErSdeSolver = given.TryGetProperty("er_sde_solver", out var solver) ? solver.GetString()! : "er_sde",
        };
        var x = ComfyReference.Floats(c.GetProperty("x"));
        var sigmas = ComfyReference.Floats(c.GetProperty("sigmas"));
        var want = ComfyReference.Floats(c.GetProperty("result"));
        var got = await KSamplers.SampleAsync("er_sde", x, sigmas, Toy, new SineNoise(), null, CancellationToken.None, parameters: parameters);
        var what = $"er_sde {given}/{c.GetProperty("scheduler").GetString()}";
        for (var i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"{what}: x[{i}] {got[i]:R} vs {want[i]:R}");
        // The defaults would have given another result: the settings are read.
        var defaults = await KSamplers.SampleAsync("er_sde", x, sigmas, Toy, new SineNoise(), null, CancellationToken.None);
        Assert.True(defaults.Zip(want).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, $"{what}: the defaults give the same result");
    }

    [Theory]
    [InlineData(0, "er_sde", "max_stage 0 is outside 1 … 3")]
    [InlineData(4, "er_sde", "max_stage 4 is outside 1 … 3")]
    [InlineData(3, "Reverse-time SDE", "er_sde_solver 'Reverse-time SDE' is not one of: er_sde, reverse_time_sde, ode")]
    public async Task Er_sde_settings_out_of_range_are_errors_naming_them(int maxStage, string solver, string message)
    {
        var parameters = KSamplerParameters.Default with { MaxStage = maxStage, ErSdeSolver = solver };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KSamplers.SampleAsync("er_sde", [1f], [1f, 0f], Toy, new SineNoise(), null, CancellationToken.None,
            parameters: parameters));
        Assert.Contains(message, error.Message);
    }
}
