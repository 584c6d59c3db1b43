using System.Text;
using System.Text.Json;
using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.leres reads a res101.pth in the published layout (<c>{"depth_model": …}</c>, <c>module.</c> keys; the keys and
/// shapes tools/reference/make_leres.py writes from the published RelDepthModel and ResNeXt-101 32x8d definitions, compared
/// here; make_leres.py's deterministic weights, written here in float16) and draws make_leres.py's depth maps, a torch
/// restatement of the network (32-group convolutions, BatchNorm eps 1e-5, FTB's in-place ReLU) and of the detector (BGR
/// 0..255 input, 16-bit then 8-bit levels, remove near, inversion, remove background), at resolutions 64 and 96 (the
/// network sees 64 × 128 and 128 × 128) with both sliders. Tolerance: at most 1 level off, except at most 1 in 200 pixels
/// that a level's difference moves across a slider's threshold (ONNX Runtime sums the convolutions in another order than
/// torch). Missing or broken weights and sliders out of range fail naming the file, the tensor or the slider.
/// </summary>
public sealed class ImageLeresTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "leres-reference.json"))).RootElement;

    [Fact]
    public void The_layout_read_is_the_references_published_layout()
    {
        var expected = Oracle.GetProperty("keys").EnumerateArray()
            .Select(k => $"{k[0].GetString()} [{string.Join(", ", k[1].EnumerateArray().Select(d => d.GetInt64()))}]").ToList();
        var actual = LeresCheckpoint.Layout().Select(k => $"{k.Name} [{string.Join(", ", k.Shape)}]").ToList();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Leres_draws_the_references_depth_maps()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = LeresWeights.Shared();
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: leres\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            yaml.Append(FormattableString.Invariant(
                $"  case{i}: {{ node: image.leres, in: {{ image: source.image }}, with: {{ model: \"{weights.Replace('\\', '/')}\", resolution: {c.GetProperty("resolution").GetInt32()}, remove_near: {c.GetProperty("remove_near").GetDouble()}, remove_background: {c.GetProperty("remove_background").GetDouble()} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"resolution {c.GetProperty("resolution")}, remove near {c.GetProperty("remove_near")}, background {c.GetProperty("remove_background")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("depth").GetBytesFromBase64();
            var plane = result.Height * result.Width;
            int off = 0, worst = 0;
            for (var p = 0; p < plane; p++)
            {
                var level = result.Pixels[p] * 255;
                Assert.True(level == result.Pixels[plane + p] * 255 && level == result.Pixels[2 * plane + p] * 255, $"{name}: pixel {p} is not grey");
                var difference = (int)Math.Round(Math.Abs(level - expected[p]));
                worst = Math.Max(worst, difference);
                if (difference > 1) off++;
            }

            Assert.True(off <= plane / 200, $"{name}: {off} of {plane} pixels differ by more than one level, by up to {worst}");
            Assert.True(expected.Distinct().Count() >= 20, $"{name}: the reference is nearly flat");
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), Path.Combine(temp.Path, LeresWeights.FileName));
        run.AssertFailed("depth", LeresWeights.FileName, "models/annotators");
    }

    [Theory]
    [InlineData("remove_near: 100.5", "parameter 'remove_near': 100.5 is above the maximum 100")]
    [InlineData("remove_background: -1", "parameter 'remove_background': -1 is below the minimum 0")]
    public void Sliders_outside_0_to_100_are_refused_before_the_run_naming_the_parameter(string slider, string message)
    {
        var validation = SdEngine.Shared.Parse($$"""
            flowdiffusion: 1
            name: leres
            nodes:
              source: { node: image.load, with: { path: strokes.png } }
              depth: { node: image.leres, in: { image: source.image }, with: { {{slider}} } }
            """, new Dictionary<string, object?>());
        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 'depth': {message}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_resolution_past_the_pixel_cap_fails_naming_it_before_the_weights_are_read()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var (height, width) = (Oracle.GetProperty("image").GetProperty("height").GetInt32(), Oracle.GetProperty("image").GetProperty("width").GetInt32());
        long Pixels(int r)
        {
            var (h, w) = LeresDepth.NetworkSize(height, width, r);
            return (long)h * w;
        }

        var fits = Enumerable.Range(1, 64).Select(k => 64 * k).Last(r => Pixels(r) <= LeresDepth.MaxPixels);
        var missing = Path.Combine(temp.Path, LeresWeights.FileName);
        var within = await RunAsync(image, missing, fits);
        Assert.Contains(LeresWeights.FileName, within.Result.Error);
        var past = await RunAsync(image, missing, fits + 64);
        past.AssertFailed("depth", $"resolution: {fits + 64} makes the network see");
    }

    [Theory]
    [InlineData("garbage", LeresWeights.FileName)]
    [InlineData("skip", "depth_model.encoder_modules.encoder.layer1.0.conv2.weight")]
    [InlineData("reshape", "depth_model.encoder_modules.encoder.layer1.1.conv2.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "leres", LeresWeights.FileName, damage, expected, (file, skip, reshape) => LeresWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("depth", path, expected);
    }

    private static Task<SdRun> RunAsync(string image, string weights, int resolution = 64) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: leres
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          depth: { node: image.leres, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: {{resolution}} } }
        """, new Dictionary<string, object?>());

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
