using System.Text;
using System.Text.Json;
using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Imaging.Preprocessors.Annotators;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.midas reads a dpt_hybrid-midas-501f0c75.pt in the published layout (the keys and shapes tools/reference/make_midas.py
/// writes from isl-org/MiDaS and timm's definitions, compared here; make_midas.py's deterministic weights, written here in
/// float16) and draws the depth and normal maps of make_midas.py, a torch restatement of DPT-Hybrid and of the ControlNet
/// MidasDetector (aux's and the extension's channel orders), at resolutions 64 and 96 (the network sees 64 × 128 and
/// 128 × 128, the position grid resized from 24 × 24). Tolerance: depth no pixel more than 2 levels off and at most 1 in 100
/// off by 2; normal the same per channel (ONNX Runtime sums the convolutions and attention in another order than torch,
/// which moves a truncation across a level). Missing or broken weights fail naming the file and the tensor.
/// </summary>
public sealed class ImageMidasTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "midas-reference.json"))).RootElement;

    [Fact]
    public void The_layout_read_is_the_references_published_layout()
    {
        var expected = Oracle.GetProperty("keys").EnumerateArray()
            .Select(k => $"{k[0].GetString()} [{string.Join(", ", k[1].EnumerateArray().Select(d => d.GetInt64()))}]").ToList();
        var actual = MidasCheckpoint.Layout().Select(k => $"{k.Name} [{string.Join(", ", k.Shape)}]").ToList();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Midas_draws_the_references_depth_and_normal_maps()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = MidasWeights.Shared();
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: midas\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.midas, in: {{ image: source.image }}, with: {{ model: \"{weights.Replace('\\', '/')}\", resolution: {c.GetProperty("resolution").GetInt32()}, a: {c.GetProperty("a").GetDouble():R}, bg_threshold: {c.GetProperty("bg_threshold").GetDouble():R}, variant: {c.GetProperty("variant").GetString()} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"resolution {c.GetProperty("resolution")} a {c.GetProperty("a")} bg {c.GetProperty("bg_threshold")} {c.GetProperty("variant")}";
            foreach (var (output, grey) in new[] { ("depth", true), ("normal", false) })
            {
                var result = Assert.IsType<Image>(run.Result.Output($"case{i}", output));
                Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name} {output}: {result.Width}×{result.Height}");
                var expected = c.GetProperty(output).GetBytesFromBase64();
                var (wrong, worst) = Compare(result, expected, grey);
                Assert.True(worst <= 2 && wrong <= expected.Length / 100, $"{name} {output}: {wrong} of {expected.Length} values differ by more than one level, by up to {worst}");
                Assert.True(expected.Distinct().Count() >= 15, $"{name} {output}: the reference is nearly flat");
            }
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), Path.Combine(temp.Path, MidasWeights.FileName));
        run.AssertFailed("midas", MidasWeights.FileName, "models/annotators");
    }

    [Fact]
    public async Task A_resolution_past_the_patch_limit_fails_naming_it_before_the_weights_are_read()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var (height, width) = (Oracle.GetProperty("image").GetProperty("height").GetInt32(), Oracle.GetProperty("image").GetProperty("width").GetInt32());
        // The largest multiple of 64 within the limit passes the check (and then fails on the missing file); the next one does not.
        var fits = Enumerable.Range(1, 64).Select(k => 64 * k).Last(r => MidasMaps.NetworkSize(height, width, r).Patches <= MidasMaps.MaxPatches);
        var missing = Path.Combine(temp.Path, MidasWeights.FileName);
        var within = await RunAsync(image, missing, fits);
        Assert.Contains(MidasWeights.FileName, within.Result.Error);
        var past = await RunAsync(image, missing, fits + 64);
        past.AssertFailed("midas", $"resolution: {fits + 64} makes the network see", $"at most {MidasMaps.MaxPatches}");
    }

    [Theory]
    [InlineData("garbage", MidasWeights.FileName)]
    [InlineData("skip", "pretrained.model.patch_embed.backbone.stages.1.blocks.0.downsample.norm.weight")]
    [InlineData("reshape", "pretrained.act_postprocess4.0.project.0.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "midas", MidasWeights.FileName, damage, expected, (file, skip, reshape) => MidasWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("midas", path, expected);
    }

    private static Task<SdRun> RunAsync(string image, string weights, int resolution = 64) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: midas
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          midas: { node: image.midas, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: {{resolution}} } }
        """, new Dictionary<string, object?>());

    // (values more than one level off, the largest difference); grey: the expected plane against every channel.
    private static (int Wrong, int Worst) Compare(Image result, byte[] expected, bool grey)
    {
        var plane = result.Height * result.Width;
        int wrong = 0, worst = 0;
        for (var p = 0; p < plane; p++)
        for (var ch = 0; ch < 3; ch++)
        {
            var want = grey ? expected[p] : expected[3 * p + ch];
            var difference = (int)Math.Round(Math.Abs(result.Pixels[ch * plane + p] * 255 - want));
            worst = Math.Max(worst, difference);
            if (difference > 1) wrong++;
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
