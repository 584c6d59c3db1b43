using System.Text.Json;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;

namespace FlowDiffusion.Diffusion.Tests.KDiffusion;

/// <summary>The reference tables tools/comfy/sigma_reference.py computed with numpy/scipy from ComfyUI's published definitions.</summary>
internal static class ComfyReference
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy", "reference.json"))).RootElement);

    public static JsonElement Data => Root.Value;

    /// <summary>SD 1.x's schedule: scaled_linear betas 0.00085 … 0.012 over 1000 steps.</summary>
    public static DiscreteModelSampling Sd15 { get; } = DiscreteModelSampling.For(new SchedulerConfig
    {
        BetaStart = 0.00085, BetaEnd = 0.012, BetaSchedule = "scaled_linear", NumTrainTimesteps = 1000,
    });

    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
}
