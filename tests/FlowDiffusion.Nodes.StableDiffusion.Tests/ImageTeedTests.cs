using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.teed reads a 7_model.pth in TED's published layout (float16 storages; make_teed.py's deterministic weights,
/// written here) and draws the maps of tools/reference/make_teed.py, torch modules restating aux's TEDDetector, within one
/// level at no more than 1 pixel in 1000 (ONNX Runtime sums in another order than torch). Missing or broken weights fail
/// naming the file and the tensor.
/// </summary>
public sealed class ImageTeedTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "teed-reference.json"))).RootElement;

    [Fact]
    public async Task Teed_draws_the_references_maps_at_two_resolutions_with_0_2_and_5_safe_steps()
    {
        using var temp = new TempFolder();
        var image = SoftEdgeReferences.WriteImage(Oracle, temp);
        var weights = TeedWeights.Shared().Replace('\\', '/');
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: teed\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.teed, in: {{ image: source.image }}, with: {{ model: \"{weights}\", resolution: {cases[i].GetProperty("resolution").GetInt32()}, safe_steps: {cases[i].GetProperty("safe_steps").GetInt32()} }} }}\n"));

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var steps = c.GetProperty("safe_steps").GetInt32();
            var name = $"resolution {c.GetProperty("resolution")} safe_steps {steps}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, worst) = SoftEdgeReferences.Compare(result, expected);
            var tolerance = steps == 0 ? 1 : (255 + steps - 1) / steps; // one step either way
            Assert.True(worst <= tolerance && wrong <= expected.Length / 1000, $"{name}: {wrong} of {expected.Length} pixels differ, by up to {worst} levels");
            // A map, not a flat image: n safe steps leave n + 1 levels (0, 255/n, …, 255), no steps nearly every level.
            var levels = expected.Distinct().Order().ToArray();
            Assert.True(steps == 0 ? levels.Length > 200 : levels.SequenceEqual(Enumerable.Range(0, steps + 1).Select(k => (byte)(k * 255 / steps))), $"{name}: levels {string.Join(", ", levels.Take(12))}");
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(SoftEdgeReferences.WriteImage(Oracle, temp), Path.Combine(temp.Path, "7_model.pth"));
        run.AssertFailed("teed", "7_model.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "7_model.pth")]
    [InlineData("skip", "dblock_3.denselayer1.conv2.bias")]
    [InlineData("reshape", "up_block_3.features.2.weight")]
    [InlineData("reshape", "block_cat.DWconv1.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "teed", "7_model.pth", damage, expected, (file, skip, reshape) => TeedWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(SoftEdgeReferences.WriteImage(Oracle, temp), path);
        run.AssertFailed("teed", path, expected);
    }

    [Theory]
    [InlineData(11, "11 is above the maximum 10")]
    [InlineData(-1, "-1 is below the minimum 0")]
    public void Safe_steps_outside_0_to_10_are_refused_before_the_run_naming_the_parameter(int steps, string message)
    {
        var validation = SdEngine.Shared.Parse($$"""
            flowdiffusion: 1
            name: teed
            nodes:
              source: { node: image.load, with: { path: strokes.png } }
              teed: { node: image.teed, in: { image: source.image }, with: { safe_steps: {{steps}} } }
            """, new Dictionary<string, object?>());
        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 'teed': parameter 'safe_steps': {message}", StringComparison.Ordinal));
    }

    private static Task<SdRun> RunAsync(string image, string weights) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: teed
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          teed: { node: image.teed, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: 64, safe_steps: 0 } }
        """, new Dictionary<string, object?>());
}
