using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.depth_anything reads a Depth Anything vits <c>.pth</c> in the published layout (float32 storages, the keys
/// pretrained.* and depth_head.*, pos_embed on the 37 × 37 grid; the weights are make_depth_anything.py's deterministic
/// hash, written here) and draws the maps of tools/reference/make_depth_anything.py, a torch restatement of DINOv2 + DPT
/// and of aux's and the extension's pipelines (V1 and V2, aux and webui), at small network inputs (56–84 pixels, so the
/// position embeddings are always resized) to keep the test short. Tolerance: no pixel more than 2 levels off and at most
/// 1 in 100 off by 2 (ONNX Runtime's attention, convolutions and resizes sum in another order than torch's, which moves a
/// truncation across a level). Missing or broken weights fail naming the file.
/// </summary>
public sealed class ImageDepthAnythingTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "depth-anything-reference.json"))).RootElement;

    [Fact]
    public async Task Depth_anything_draws_the_references_maps_for_v1_and_v2_through_aux_and_the_extension()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = DepthAnythingWeights.Shared();
        var cases = Oracle.GetProperty("cases").EnumerateArray().Where(c => !c.GetProperty("square").GetBoolean()).ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: depth\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.depth_anything, in: {{ image: source.image }}, with: {{ model: \"{weights.Replace('\\', '/')}\", version: {c.GetProperty("version").GetString()}, variant: {c.GetProperty("variant").GetString()}, resolution: {c.GetProperty("resolution").GetInt32()}, input_size: {c.GetProperty("input_size").GetInt32()} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"{c.GetProperty("version")} {c.GetProperty("variant")} resolution {c.GetProperty("resolution")} input {c.GetProperty("input_size")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, worst) = Compare(result, expected);
            Assert.True(worst <= 2 && wrong <= expected.Length / 100, $"{name}: {wrong} of {expected.Length} pixels differ by more than one level, by up to {worst}");
            // A map, not a flat image (the extension's crop may cut its brightest pixels off).
            Assert.True(expected.Min() == 0 && expected.Distinct().Count() >= 15, name);
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), Path.Combine(temp.Path, "depth_anything_v2_vits.pth"));
        run.AssertFailed("depth", "depth_anything_v2_vits.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "depth_anything_v2_vits.pth")]
    [InlineData("skip", "depth_head.scratch.refinenet2.resConfUnit1.conv2.weight")]
    [InlineData("reshape", "depth_head.projects.2.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "depth", "depth_anything_v2_vits.pth", damage, expected, (file, skip, reshape) => DepthAnythingWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("depth", path, expected);
    }

    [Fact]
    public async Task An_input_size_that_is_not_a_multiple_of_14_fails_naming_it()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), DepthAnythingWeights.Shared(), "resolution: 64, input_size: 60");
        Assert.Equal(RunStatus.Failed, run.Result.Status);
        Assert.Contains("input_size", run.Result.Error);
        Assert.Contains("14", run.Result.Error);
    }

    [Fact]
    public async Task An_input_past_the_patch_limit_fails_naming_input_size_before_the_weights_are_read()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var (height, width) = (Oracle.GetProperty("image").GetProperty("height").GetInt32(), Oracle.GetProperty("image").GetProperty("width").GetInt32());
        long Patches(int size)
        {
            var (h, w) = DepthAnythingMap.InputSize(height, width, size);
            return (long)(h / 14) * (w / 14);
        }

        // aux's variant sees the image itself: the largest input_size within the limit passes the check (and then fails
        // on the missing file); the next one, still within the parameter's range, does not.
        var fits = Enumerable.Range(1, DepthAnythingMap.MaxInputSize / 14).Select(k => 14 * k).Last(s => Patches(s) <= DepthAnythingMap.MaxPatches);
        Assert.True(fits + 14 <= DepthAnythingMap.MaxInputSize, $"{fits}");
        var missing = Path.Combine(temp.Path, "depth_anything_v2_vits.pth");
        var within = await RunAsync(image, missing, $"resolution: 64, variant: aux, input_size: {fits}");
        Assert.Contains("depth_anything_v2_vits.pth", within.Result.Error);
        var past = await RunAsync(image, missing, $"resolution: 64, variant: aux, input_size: {fits + 14}");
        Assert.Equal(RunStatus.Failed, past.Result.Status);
        Assert.Contains("input_size: the network would see", past.Result.Error);
        Assert.Contains($"at most {DepthAnythingMap.MaxPatches}", past.Result.Error);
    }

    private static Task<SdRun> RunAsync(string image, string weights, string extra = "resolution: 64, input_size: 56") => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: depth
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          depth: { node: image.depth_anything, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", {{extra}} } }
        """, new Dictionary<string, object?>());

    // (pixels more than one level off in any channel, the largest difference).
    private static (int Wrong, int Worst) Compare(Image result, byte[] expected)
    {
        var plane = result.Height * result.Width;
        int wrong = 0, worst = 0;
        for (var p = 0; p < plane; p++)
        {
            var largest = 0;
            for (var ch = 0; ch < 3; ch++) largest = Math.Max(largest, (int)Math.Round(Math.Abs(result.Pixels[ch * plane + p] * 255 - expected[p])));
            worst = Math.Max(worst, largest);
            if (largest > 1) wrong++;
        }

        return (wrong, worst);
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
}
