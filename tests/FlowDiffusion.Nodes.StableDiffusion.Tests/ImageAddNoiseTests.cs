using System.Text.Json;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.add_noise (ComfyUI's ImageAddNoise) against torch (tools/comfy/image_add_noise_reference.py, its output in
/// TestData/image-add-noise-reference.json): the same generator, the same [batch, height, width, channel] draw, the same
/// float32 arithmetic and clamp, so the pixels agree to float32 rounding — torch's vectorised path (with its redrawn last
/// block), its scalar path, and one draw across a batch.
/// </summary>
public sealed class ImageAddNoiseTests
{
    private static readonly JsonElement Cases = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "image-add-noise-reference.json")))
        .RootElement.GetProperty("image_add_noise");

    public static TheoryData<string> Names => [.. Cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Noise_is_torchs_drawn_in_comfyuis_layout(string name)
    {
        var c = Cases.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        int width = c.GetProperty("width").GetInt32(), height = c.GetProperty("height").GetInt32(), batch = c.GetProperty("batch").GetInt32();
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "pixels.png");
        TestPng.WriteRgb(path, width, height, (x, y) => ((byte)((x * 40 + y * 7) % 256), (byte)((x * 13 + y * 90 + 5) % 256), (byte)((x * 3 + y * 33 + 100) % 256)));
        var yaml = $$"""
            flowdiffusion: 1
            name: noise
            nodes:
              load: { node: image.load, with: { path: "{{path}}" } }
              batch: { node: image.repeat, in: { image: load.image }, with: { amount: {{batch}} } }
              noisy: { node: image.add_noise, in: { image: batch.repeated }, with: { seed: {{c.GetProperty("seed").GetUInt64()}}, strength: {{c.GetProperty("strength").GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)}} } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var noisy = Assert.IsType<Image>(run.Result.Output("noisy", "noisy"));

        var expected = c.GetProperty("expected").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        Assert.Equal((batch, height, width), (noisy.Batch, noisy.Height, noisy.Width));
        Assert.Equal(expected.Length, noisy.Pixels.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - noisy.Pixels[i]) <= 1e-6, $"{name}, value {i}: {noisy.Pixels[i]}, torch {expected[i]}");
    }
}
