using System.Text.Json;
using FlowDiffusion.Diffusion.Guidance;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Guidance;

/// <summary>
/// <see cref="CfgRescale"/> against torch (tools/comfy/rescale_reference.py), which follows ComfyUI's data flow through
/// denoised images: ε- and v-models, large and small sigma, multipliers 0.3 to 1, batch 2 (each item its own deviation).
/// </summary>
public sealed class CfgRescaleTests
{
    private static readonly JsonElement Cases =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "comfy", "rescale_cfg.json"))).RootElement.GetProperty("rescale_cfg");

    public static TheoryData<int, int> Inputs => new() { { 0, 4 }, { 1, 4 }, { 2, 4 }, { 3, 4 }, { 0, 9 }, { 2, 9 } };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Matches_comfyuis_rescale_through_denoised_images(int index, int inChannels)
    {
        var c = Cases[index];
        var shape = c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int batch = shape[0], channels = shape[1], plane = shape[2] * shape[3];
        var x = Floats(c, "model_input");
        // A 9-channel inpainting UNet's input: the latents, then mask and masked-image channels the rescale must not read.
        var modelInput = new float[batch * inChannels * plane];
        for (var b = 0; b < batch; b++)
        {
            modelInput.AsSpan(b * inChannels * plane, inChannels * plane).Fill(1000f);
            x.AsSpan(b * channels * plane, channels * plane).CopyTo(modelInput.AsSpan(b * inChannels * plane));
        }

        var guided = Floats(c, "guided");
        var expected = Floats(c, "expected");
        var plain = (float[])guided.Clone();
        CfgRescale.Apply(Floats(c, "conditional"), guided, modelInput, batch, inChannels, channels, plane, c.GetProperty("sigma").GetSingle(),
            c.GetProperty("prediction").GetString() == "v_prediction", c.GetProperty("multiplier").GetSingle());

        var moved = 0.0;
        for (var i = 0; i < guided.Length; i++)
        {
            Assert.True(Math.Abs(guided[i] - expected[i]) <= 2e-5 * (1 + Math.Abs(expected[i])), $"case {index}, value {i}: {guided[i]}, torch {expected[i]}");
            moved = Math.Max(moved, Math.Abs(expected[i] - plain[i]));
        }

        // The rescale must change the prediction well beyond the tolerance, or the comparison would prove nothing.
        Assert.True(moved > 0.01, $"case {index}: the rescale moves the prediction by at most {moved}");
    }

    [Fact]
    public void Multiplier_zero_and_a_constant_prediction_leave_the_guided_prediction_alone()
    {
        var guided = new float[] { 1, 2, 3, 4 };
        CfgRescale.Apply([0.5f, 1, 1.5f, 2], guided, new float[4], 1, 4, 4, 1, 3f, vPrediction: true, multiplier: 0);
        Assert.Equal([1f, 2, 3, 4], guided);

        // v constant over the item: no deviation to scale by (torch would divide by zero); the prediction is kept.
        var constant = new float[] { 2, 2, 2, 2 };
        CfgRescale.Apply([1f, 3, 5, 7], constant, new float[4], 1, 4, 4, 1, 3f, vPrediction: true, multiplier: 1);
        Assert.Equal([2f, 2, 2, 2], constant);
    }

    private static float[] Floats(JsonElement c, string name) => [.. c.GetProperty(name).EnumerateArray().Select(e => (float)e.GetDouble())];
}
