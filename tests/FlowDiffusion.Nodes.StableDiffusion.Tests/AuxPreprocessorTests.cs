using System.Globalization;
using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// The model-free comfyui_controlnet_aux preprocessors as nodes (image.tile_resample, image.color_grid, image.binary,
/// image.lineart_standard, image.scribble_xdog, image.intensity, image.canny with rgb and a resolution, image.inpaint_control) against
/// tools/reference/aux_preprocessors.py: a numpy restatement of each annotator from its definition (itself equal to
/// OpenCV 4.6 and aux's numpy code on every case here, its --check), on a 100 × 76 image of strokes, colour patches and
/// noise, two settings per node, pixel for pixel (tolerance 0: the maps are 8-bit and the arithmetic is OpenCV's).
/// </summary>
public sealed class AuxPreprocessorTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Imaging.Tests", "TestData", "aux-preprocessors.json"))).RootElement;

    private static readonly Dictionary<string, string> NodeOf = new()
    {
        ["tile"] = "image.tile_resample", ["color"] = "image.color_grid", ["binary"] = "image.binary", ["lineart_standard"] = "image.lineart_standard",
        ["scribble_xdog"] = "image.scribble_xdog", ["canny"] = "image.canny", ["intensity"] = "image.intensity", ["luminance"] = "image.intensity",
        ["scribble"] = "image.scribble",
    };

    // aux's input names → the nodes' parameters.
    private static readonly Dictionary<string, string> ParameterOf = new()
    {
        ["pyrUp_iters"] = "iterations", ["bin_threshold"] = "threshold", ["guassian_sigma"] = "gaussian_sigma",
    };

    [Fact]
    public async Task Each_preprocessor_draws_the_references_pixels_at_two_settings()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: aux\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++) yaml.Append(NodeYaml($"case{i}", cases[i]));
        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();

        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"{c.GetProperty("node").GetString()} {c.GetProperty("params")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", c.GetProperty("node").GetString() == "canny" ? "edges" : "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var plane = result.Height * result.Width;
            int wrong = 0, worst = 0;
            for (var p = 0; p < plane; p++)
            for (var ch = 0; ch < 3; ch++)
            {
                var got = result.Pixels[ch * plane + p] * 255;
                var difference = Math.Abs(got - expected[3 * p + ch]);
                if (difference > 1e-3) wrong++;
                worst = Math.Max(worst, (int)Math.Round(difference));
            }

            Assert.True(wrong == 0, $"{name}: {wrong} of {3 * plane} values differ (by up to {worst} levels)");
            // Not a flat image: each case has a spread of levels.
            Assert.True(expected.Distinct().Count() > 1, name);
        }
    }

    [Fact]
    public async Task Intensity_at_resolution_0_keeps_the_images_size_as_the_extensions_recolor_modules_do()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var recolors = Oracle.GetProperty("recolors").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: recolor\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < recolors.Count; i++)
        {
            var gamma = recolors[i].GetProperty("gamma").GetDouble().ToString(CultureInfo.InvariantCulture);
            yaml.Append($"  recolor{i}: {{ node: image.intensity, in: {{ image: source.image }}, with: {{ mode: {recolors[i].GetProperty("mode").GetString()}, gamma_correction: {gamma}, resolution: 0 }} }}\n");
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        var source = run.Image("source", "image");
        for (var i = 0; i < recolors.Count; i++)
        {
            var result = run.Image($"recolor{i}", "result");
            Assert.Equal((source.Height, source.Width), (result.Height, result.Width));
            var expected = recolors[i].GetProperty("output").GetBytesFromBase64();
            var plane = result.Height * result.Width;
            var wrong = 0;
            for (var p = 0; p < plane; p++)
            for (var c = 0; c < 3; c++)
                if (Math.Abs(result.Pixels[c * plane + p] * 255 - expected[3 * p + c]) > 1e-3) wrong++;
            Assert.True(wrong == 0, $"{recolors[i].GetProperty("mode")} {recolors[i].GetProperty("gamma")}: {wrong} values differ");
        }
    }

    [Fact]
    public async Task Inpaint_control_marks_the_bilinearly_resized_masks_pixels_minus_one_or_zero()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var mask = Oracle.GetProperty("mask");
        int maskHeight = mask.GetProperty("height").GetInt32(), maskWidth = mask.GetProperty("width").GetInt32();
        var levels = mask.GetProperty("levels").GetBytesFromBase64();
        var maskPath = Path.Combine(temp.Path, "mask.png");
        TestPng.WriteGray(maskPath, maskWidth, maskHeight, (x, y) => levels[y * maskWidth + x]);
        var yaml = $$"""
            flowdiffusion: 1
            name: inpaint control
            nodes:
              source: { node: image.load, with: { path: "{{image}}" } }
              mask: { node: mask.load, with: { path: "{{maskPath}}", channel: red } }
              minus: { node: image.inpaint_control, in: { image: source.image, mask: mask.mask } }
              black: { node: image.inpaint_control, in: { image: source.image, mask: mask.mask }, with: { black_pixels: true } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var source = run.Image("source", "image");
        var masked = Oracle.GetProperty("inpaint_masked").GetBytesFromBase64();
        Assert.InRange(masked.Count(m => m == 1), 500, masked.Length / 2);
        foreach (var (node, marker) in new[] { ("minus", -1f), ("black", 0f) })
        {
            var result = run.Image(node, "result");
            Assert.Equal((source.Height, source.Width), (result.Height, result.Width));
            var plane = source.Height * source.Width;
            var wrong = 0;
            for (var p = 0; p < plane; p++)
            for (var c = 0; c < 3; c++)
            {
                var want = masked[p] == 1 ? marker : source.Pixels[c * plane + p];
                if (result.Pixels[c * plane + p] != want) wrong++;
            }

            Assert.True(wrong == 0, $"{node}: {wrong} values differ");
        }
    }

    [Theory]
    [InlineData("image.binary", "resolution: 32", "resolution")]
    [InlineData("image.color_grid", "resolution: 20000", "resolution")]
    [InlineData("image.lineart_standard", "gaussian_sigma: 0", "gaussian_sigma")]
    [InlineData("image.scribble_xdog", "threshold: 0", "threshold")]
    [InlineData("image.tile_resample", "iterations: 11", "iterations")]
    [InlineData("image.binary", "threshold: 256", "threshold")]
    [InlineData("image.scribble", "resolution: 32", "resolution")]
    [InlineData("image.intensity", "mode: value", "mode")]
    public void Out_of_range_settings_are_refused_naming_the_input(string node, string setting, string input)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: bad
            nodes:
              source: { node: image.empty, with: { width: 64, height: 64 } }
              bad: { node: {{node}}, in: { image: source.image }, with: { {{setting}} } }
            """;
        var validation = SdEngine.Shared.Parse(yaml, new Dictionary<string, object?>());
        Assert.False(validation.IsValid);
        var message = string.Join("\n", validation.Diagnostics);
        Assert.Contains(input, message, StringComparison.Ordinal);
        Assert.Contains("bad", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image.tile_resample", "iterations: 8", "pyrUp_iters")]
    [InlineData("image.canny", "resolution: 10", "resolution")]
    [InlineData("image.color_grid", "resolution: 16384", "resolution")]
    [InlineData("image.intensity", "resolution: 32", "resolution")]
    public async Task Settings_the_image_cannot_take_fail_the_node_naming_the_input(string node, string setting, string input)
    {
        var yaml = $$"""
            flowdiffusion: 1
            name: bad
            nodes:
              source: { node: image.empty, with: { width: 100, height: 76 } }
              bad: { node: {{node}}, in: { image: source.image }, with: { {{setting}} } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "bad"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains(input, run.Result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inpaint_control_refuses_a_mask_batch_that_is_neither_one_nor_the_images()
    {
        var yaml = """
            flowdiffusion: 1
            name: bad
            nodes:
              source: { node: image.empty, with: { width: 16, height: 16, batch: 3 } }
              pair: { node: image.empty, with: { width: 16, height: 16, batch: 2, color: 16777215 } }
              two: { node: mask.from_image, in: { image: pair.image } }
              bad: { node: image.inpaint_control, in: { image: source.image, mask: two.mask } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal((RunStatus.Failed, "bad"), (run.Result.Status, run.Result.FailedNode));
        Assert.Contains("mask: 2 masks for 3 images", run.Result.Error, StringComparison.Ordinal);
    }

    private static string WriteImage(TempFolder temp)
    {
        var image = Oracle.GetProperty("image");
        int height = image.GetProperty("height").GetInt32(), width = image.GetProperty("width").GetInt32();
        var rgb = image.GetProperty("rgb_hwc").GetBytesFromBase64();
        var path = Path.Combine(temp.Path, "strokes.png");
        TestPng.WriteRgb(path, width, height, (x, y) => (rgb[3 * (y * width + x)], rgb[3 * (y * width + x) + 1], rgb[3 * (y * width + x) + 2]));
        return path;
    }

    private static string NodeYaml(string id, JsonElement c)
    {
        var kind = c.GetProperty("node").GetString()!;
        var parameters = c.GetProperty("params").EnumerateObject()
            .Select(p => $"{ParameterOf.GetValueOrDefault(p.Name, p.Name)}: {p.Value.GetDouble().ToString(CultureInfo.InvariantCulture)}").ToList();
        if (kind == "canny") parameters.Add("channels: rgb");
        if (kind == "luminance") parameters.Add("mode: luminance");
        return $"  {id}: {{ node: {NodeOf[kind]}, in: {{ image: source.image }}, with: {{ {string.Join(", ", parameters)} }} }}\n";
    }
}
