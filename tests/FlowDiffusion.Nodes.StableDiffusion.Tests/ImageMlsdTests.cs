using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.mlsd reads an mlsd_large_512_fp32.pth in the published layout (float16 storages, MobileV2_MLSD_Large's keys; the
/// weights are make_mlsd.py's deterministic hash, written here) and draws the line maps of tools/reference/make_mlsd.py (a
/// torch restatement of the network, numpy restatements of pred_lines' decoding and of cv2.line, the latter checked
/// against OpenCV's). Hashed weights draw short arbitrary segments; the maps must agree to within 2 pixels per case (ONNX
/// Runtime sums in another order than torch, which can move a truncated end across a pixel). Missing or broken weights fail
/// naming the file and the tensor.
/// </summary>
public sealed class ImageMlsdTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "mlsd-reference.json"))).RootElement;

    [Fact]
    public async Task Mlsd_draws_the_references_lines_at_two_resolutions_and_two_threshold_pairs()
    {
        using var temp = new TempFolder();
        var image = SoftEdgeReferences.WriteImage(Oracle, temp);
        var weights = MlsdWeights.Shared();
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: mlsd\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image.Replace('\\', '/')}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.mlsd, in: {{ image: source.image }}, with: {{ model: \"{weights.Replace('\\', '/')}\", resolution: {c.GetProperty("resolution").GetInt32()}, score_threshold: {c.GetProperty("score_threshold").GetDouble()}, distance_threshold: {c.GetProperty("distance_threshold").GetDouble()} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"resolution {c.GetProperty("resolution")} thresholds {c.GetProperty("score_threshold")}, {c.GetProperty("distance_threshold")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, _) = SoftEdgeReferences.Compare(result, expected);
            Assert.True(wrong <= 2, $"{name}: {wrong} of {expected.Length} pixels differ");
            // White lines on black only, and some of them.
            Assert.True(expected.Distinct().Order().SequenceEqual(new byte[] { 0, 255 }) && expected.Count(v => v == 255) >= 8, name);
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(SoftEdgeReferences.WriteImage(Oracle, temp), Path.Combine(temp.Path, "mlsd_large_512_fp32.pth"));
        run.AssertFailed("mlsd", "mlsd_large_512_fp32.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "mlsd_large_512_fp32.pth")]
    [InlineData("skip", "backbone.features.7.conv.1.1.running_var")]
    [InlineData("reshape", "block19.conv2.0.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "mlsd", "mlsd_large_512_fp32.pth", damage, expected, (file, skip, reshape) => MlsdWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(SoftEdgeReferences.WriteImage(Oracle, temp), path);
        run.AssertFailed("mlsd", path, expected);
    }

    private static Task<SdRun> RunAsync(string image, string weights) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: mlsd
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          mlsd: { node: image.mlsd, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: 64 } }
        """, new Dictionary<string, object?>());
}
