using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.hed reads a ControlNetHED.pth in the published layout (float16 storages, ControlNetHED_Apache2's keys; the
/// weights are make_hed.py's deterministic hash, written here) and draws the maps of tools/reference/make_hed.py, a numpy
/// restatement of aux's HEDdetector (resize_image_with_pad, the network, INTER_LINEAR side outputs, sigmoid of the mean,
/// safe_step, truncation), within one level at no more than 1 pixel in 1000 (measured: 0, 0 and 1 pixel of 5376, 5376, 12096): ONNX Runtime's convolutions and resize sum in another order than numpy's,
/// which moves a truncation across a level at a few pixels. Missing or broken weights fail naming the file.
/// </summary>
public sealed class ImageHedTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "hed-reference.json"))).RootElement;

    [Fact]
    public async Task Hed_draws_the_references_maps_at_two_resolutions_with_and_without_safe_steps()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = HedWeights.Shared();
        var cases = Oracle.GetProperty("cases").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: hed\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.hed, in: {{ image: source.image }}, with: {{ model: \"{weights.Replace('\\', '/')}\", resolution: {cases[i].GetProperty("resolution").GetInt32()}, safe: {(cases[i].GetProperty("safe").GetBoolean() ? "true" : "false")} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"resolution {c.GetProperty("resolution")} safe {c.GetProperty("safe")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, worst) = Compare(result, expected);
            Assert.True(worst <= (c.GetProperty("safe").GetBoolean() ? 127 : 1) && wrong <= expected.Length / 1000, $"{name}: {wrong} of {expected.Length} pixels differ, by up to {worst} levels");
            // A map, not a flat image; safe mode leaves the three levels only.
            Assert.True(c.GetProperty("safe").GetBoolean() ? expected.Distinct().Order().SequenceEqual(new byte[] { 0, 127, 255 }) : expected.Distinct().Count() > 50, name);
        }
    }

    [Fact]
    public async Task Scribble_draws_the_references_fake_scribbles_on_the_padded_and_the_cropped_map()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = HedWeights.Shared();
        var cases = Oracle.GetProperty("scribble").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: hed-scribble\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var mode = cases[i].GetProperty("scribble").GetString() == "before_crop" ? "padded" : "cropped";
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.hed, in: {{ image: source.image }}, with: {{ model: \"{weights.Replace('\\', '/')}\", resolution: {cases[i].GetProperty("resolution").GetInt32()}, safe: {(cases[i].GetProperty("safe").GetBoolean() ? "true" : "false")}, scribble: {mode} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"resolution {c.GetProperty("resolution")} safe {c.GetProperty("safe")} scribble {c.GetProperty("scribble")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, _) = Compare(result, expected);
            Assert.True(wrong <= expected.Length / 1000, $"{name}: {wrong} of {expected.Length} pixels differ");
            // White lines on black only, and not the soft-edge map it was drawn from.
            Assert.True(expected.Distinct().Order().SequenceEqual(new byte[] { 0, 255 }), name);
            var plain = Oracle.GetProperty("cases").EnumerateArray().Single(p => p.GetProperty("resolution").GetInt32() == c.GetProperty("resolution").GetInt32()
                && p.GetProperty("safe").GetBoolean() == c.GetProperty("safe").GetBoolean()).GetProperty("output").GetBytesFromBase64();
            Assert.True(Compare(result, plain).Wrong > expected.Length / 10, $"{name}: the scribble is the plain map");
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), Path.Combine(temp.Path, "ControlNetHED.pth"));
        run.AssertFailed("hed", "ControlNetHED.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "ControlNetHED.pth")]
    [InlineData("skip", "block4.convs.1.weight")]
    [InlineData("reshape", "block2.projection.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "hed", "ControlNetHED.pth", damage, expected, (file, skip, reshape) => HedWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("hed", path, expected);
    }

    private static Task<SdRun> RunAsync(string image, string weights) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: hed
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          hed: { node: image.hed, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: 64 } }
        """, new Dictionary<string, object?>());

    private static (int Wrong, int Worst) Compare(Image result, byte[] expected) => SoftEdgeReferences.Compare(result, expected);

    private static string WriteImage(TempFolder temp) => SoftEdgeReferences.WriteImage(Oracle, temp);
}
