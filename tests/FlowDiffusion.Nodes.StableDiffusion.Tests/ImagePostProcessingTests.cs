using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.blend, image.blur and image.sharpen (ComfyUI's ImageBlend, ImageBlur, ImageSharpen): the blend modes on
/// pixels worked out by hand; blur and sharpen against torch's 2-D convolution of ComfyUI's kernels with reflect padding
/// (tools/comfy/postprocessing_reference.py, its output copied into TestData/postprocessing-reference.json).
/// </summary>
public sealed class ImagePostProcessingTests
{
    // Six pixels in a row, red only (green and blue 0), in fifths: image1 0.2, 0.8, 0.4, 0.2, 0.6, 1; image2 0.4, 0.4, 0.2, 0.8, 0.8, 0.6.
    private static readonly byte[] First = [51, 204, 102, 51, 153, 255];
    private static readonly byte[] Second = [102, 102, 51, 204, 204, 153];

    private static readonly (string Mode, double Factor, float[] Red)[] Modes =
    [
        ("normal", 1, [0.4f, 0.4f, 0.2f, 0.8f, 0.8f, 0.6f]),
        // 0.75 a + 0.25 b
        ("normal", 0.25, [0.25f, 0.7f, 0.35f, 0.35f, 0.65f, 0.9f]),
        ("multiply", 1, [0.08f, 0.32f, 0.08f, 0.16f, 0.48f, 0.6f]),
        // 1 − (1 − a)(1 − b): 1 − 0.8·0.6, 1 − 0.2·0.6, 1 − 0.6·0.8, 1 − 0.8·0.2, 1 − 0.4·0.2, 1 − 0
        ("screen", 1, [0.52f, 0.88f, 0.52f, 0.84f, 0.92f, 1]),
        // image1 chooses: 2ab for a ≤ 0.5 (0.16, 0.16, 0.32), else 1 − 2(1 − a)(1 − b) (1 − 2·0.2·0.6, 1 − 2·0.4·0.2, 1)
        ("overlay", 1, [0.16f, 0.76f, 0.16f, 0.32f, 0.84f, 1]),
        // b ≤ 0.5: a − (1 − 2b)·a(1 − a): 0.2 − 0.2·0.16, 0.8 − 0.2·0.16, 0.4 − 0.6·0.24;
        // b > 0.5: a + (2b − 1)(g(a) − a) with g(0.2) = ((3.2 − 12)·0.2 + 4)·0.2 = 0.448, g(0.6) = √0.6, g(1) = 1:
        // 0.2 + 0.6·0.248, 0.6 + 0.6·(0.7745967 − 0.6), 1 + 0.2·0
        ("soft_light", 1, [0.168f, 0.768f, 0.256f, 0.3488f, 0.7047580f, 1]),
        // a − b signed, then clamped: −0.2 → 0, 0.4, 0.2, −0.6 → 0, −0.2 → 0, 0.4 (|a − b| would keep 0.2, 0.6, 0.2)
        ("difference", 1, [0, 0.4f, 0.2f, 0, 0, 0.4f]),
        // 0.5 a + 0.5 (a − b) = a − b/2: 0, 0.6, 0.3, −0.2 → 0, 0.2, 0.7
        ("difference", 0.5, [0, 0.6f, 0.3f, 0, 0.2f, 0.7f]),
    ];

    [Fact]
    public async Task Blend_modes_give_the_hand_computed_pixels()
    {
        using var temp = new TempFolder();
        string first = Path.Combine(temp.Path, "first.png"), second = Path.Combine(temp.Path, "second.png");
        TestPng.WriteRgb(first, 6, 1, (x, _) => (First[x], 0, 0));
        TestPng.WriteRgb(second, 6, 1, (x, _) => (Second[x], 0, 0));
        var yaml = $$"""
            flowdiffusion: 1
            name: blends
            nodes:
              first: { node: image.load, with: { path: "{{first}}" } }
              second: { node: image.load, with: { path: "{{second}}" } }
            {{string.Concat(Modes.Select((m, i) => string.Create(CultureInfo.InvariantCulture,
                $"  blend{i}: {{ node: image.blend, in: {{ image1: first.image, image2: second.image }}, with: {{ blend_mode: {m.Mode}, blend_factor: {m.Factor} }} }}\n")))}}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < Modes.Length; i++)
        {
            var blended = Assert.IsType<Image>(run.Result.Output($"blend{i}", "blended"));
            Near([.. Modes[i].Red, .. new float[12]], blended.Pixels, 1e-6, $"{Modes[i].Mode} at {Modes[i].Factor}");
        }
    }

    [Fact]
    public async Task Blend_resizes_image2_serves_a_batch_from_one_image_and_refuses_mismatched_batches()
    {
        using var temp = new TempFolder();
        string dark = Path.Combine(temp.Path, "dark.png"), light = Path.Combine(temp.Path, "light.png"), half = Path.Combine(temp.Path, "half.png");
        TestPng.WriteRgb(dark, 4, 4, (_, _) => (51, 51, 51));
        TestPng.WriteRgb(light, 4, 4, (_, _) => (153, 153, 153));
        TestPng.WriteRgb(half, 2, 2, (_, _) => (102, 102, 102));
        var yaml = $$"""
            flowdiffusion: 1
            name: blend batches
            nodes:
              dark: { node: image.load, with: { path: "{{dark}}" } }
              light: { node: image.load, with: { path: "{{light}}" } }
              half: { node: image.load, with: { path: "{{half}}" } }
              two: { node: image.batch, in: { image1: dark.image, image2: light.image } }
              three: { node: image.repeat, in: { image: dark.image }, with: { amount: 3 } }
              onto: { node: image.blend, in: { image1: two.batched, image2: half.image }, with: { blend_mode: multiply, blend_factor: 1 } }
              from: { node: image.blend, in: { image1: half.image, image2: two.batched }, with: { blend_mode: multiply, blend_factor: 1 } }
              mismatched: { node: image.blend, in: { image1: two.batched, image2: three.repeated } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Contains("image1 has 2 images but image2 3", run.Result.Error);

        run = (await SdEngine.Shared.RunYamlAsync(yaml.Replace("  mismatched:", "# mismatched:", StringComparison.Ordinal), new Dictionary<string, object?>())).AssertCompleted();
        // The 2 × 2 image of 0.4 resized to 4 × 4 (bicubic keeps a constant) serves both: 0.2 · 0.4, 0.6 · 0.4.
        var onto = Assert.IsType<Image>(run.Result.Output("onto", "blended"));
        Assert.Equal((2, 4, 4), (onto.Batch, onto.Height, onto.Width));
        Near([.. Enumerable.Repeat(0.08f, 48), .. Enumerable.Repeat(0.24f, 48)], onto.Pixels, 1e-6, "one image2 for two image1s");
        // One image1 and two image2s give two images of image1's 2 × 2, as torch broadcasts.
        var from = Assert.IsType<Image>(run.Result.Output("from", "blended"));
        Assert.Equal((2, 2, 2), (from.Batch, from.Height, from.Width));
        Near([.. Enumerable.Repeat(0.08f, 12), .. Enumerable.Repeat(0.24f, 12)], from.Pixels, 1e-6, "two image2s for one image1");
    }

    [Fact]
    public async Task Blur_and_sharpen_match_torchs_convolution_of_ComfyUIs_kernels_with_reflect_padding()
    {
        var reference = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "postprocessing-reference.json")))!;
        int height = (int)reference["height"]!, width = (int)reference["width"]!;
        var levels = reference["levels"]!.AsArray().Select(v => (byte)(int)v!).ToArray();
        var cases = reference["cases"]!.AsArray();
        Assert.Equal(9, cases.Count);
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "image.png");
        TestPng.WriteRgb(path, width, height, (x, y) => (levels[y * width + x], levels[(height + y) * width + x], levels[(2 * height + y) * width + x]));
        var nodes = cases.Select((c, i) => (string)c!["node"]! == "blur"
            ? string.Create(CultureInfo.InvariantCulture, $"  case{i}: {{ node: image.blur, in: {{ image: image.image }}, with: {{ blur_radius: {(int)c["radius"]!}, sigma: {(double)c["sigma"]!} }} }}\n")
            : string.Create(CultureInfo.InvariantCulture, $"  case{i}: {{ node: image.sharpen, in: {{ image: image.image }}, with: {{ sharpen_radius: {(int)c["radius"]!}, sigma: {(double)c["sigma"]!}, alpha: {(double)c["alpha"]!} }} }}\n"));
        var yaml = $$"""
            flowdiffusion: 1
            name: blur and sharpen
            nodes:
              image: { node: image.load, with: { path: "{{path}}" } }
            {{string.Concat(nodes)}}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var blur = (string)cases[i]!["node"]! == "blur";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", blur ? "blurred" : "sharpened"));
            var expected = cases[i]!["output"]!.AsArray().Select(v => (float)(double)v!).ToArray();
            // Sharpening multiplies the blur's rounding by up to 1 + 10 · alpha.
            Near(expected, result.Pixels, blur ? 2e-6 : 1e-5, $"case {i}: {cases[i]!["node"]} radius {cases[i]!["radius"]}");
        }
    }

    [Fact]
    public async Task Blur_and_sharpen_need_a_radius_smaller_than_the_image()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "small.png");
        TestPng.WriteRgb(path, 7, 6, (_, _) => (0, 0, 0));
        foreach (var (node, expected) in new[]
        {
            ("{ node: image.blur, in: { image: image.image }, with: { blur_radius: 6 } }", "blur_radius 6 needs images more than 6 pixels high and wide"),
            ("{ node: image.sharpen, in: { image: image.image }, with: { sharpen_radius: 7 } }", "sharpen_radius 7 needs images more than 7 pixels high and wide"),
        })
        {
            var yaml = $$"""
                flowdiffusion: 1
                name: too wide
                nodes:
                  image: { node: image.load, with: { path: "{{path}}" } }
                  filter: {{node}}
                """;
            var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
            Assert.Contains(expected, run.Result.Error);
        }
    }

    private static void Near(float[] expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"{what}, value {i}: expected {expected[i]}, got {actual[i]}");
    }
}
