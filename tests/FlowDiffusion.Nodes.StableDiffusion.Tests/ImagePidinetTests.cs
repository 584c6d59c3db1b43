using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.pidinet reads a table5_pidinet.pth in the published layout (<c>state_dict</c> with <c>module.</c> keys, float16
/// storages; make_pidinet.py's deterministic weights, written here) and draws the maps of tools/reference/make_pidinet.py,
/// a torch restatement of aux's PidiNetDetector that computes the pixel-difference convolutions as differences of pixels
/// (so the engine's conversion to plain kernels is what is checked), within one level at no more than 1 pixel in 1000:
/// ONNX Runtime's convolutions sum in another order than torch's, which moves a truncation across a level at a few pixels.
/// Missing or broken weights fail naming the file and the tensor.
/// </summary>
public sealed class ImagePidinetTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "pidinet-reference.json"))).RootElement;

    [Fact]
    public async Task Pidinet_draws_the_references_maps_at_two_resolutions_with_and_without_safe_steps_and_its_scribble()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = PidinetWeights.Shared().Replace('\\', '/');
        var cases = Oracle.GetProperty("cases").EnumerateArray().Concat(Oracle.GetProperty("scribble").EnumerateArray()).ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: pidinet\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var scribble = cases[i].TryGetProperty("scribble", out _) ? "cropped" : "none";
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.pidinet, in: {{ image: source.image }}, with: {{ model: \"{weights}\", resolution: {cases[i].GetProperty("resolution").GetInt32()}, safe: {(cases[i].GetProperty("safe").GetBoolean() ? "true" : "false")}, scribble: {scribble} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var scribble = c.TryGetProperty("scribble", out _);
            var name = $"resolution {c.GetProperty("resolution")} safe {c.GetProperty("safe")} scribble {scribble}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, worst) = Compare(result, expected);
            var tolerance = scribble ? 255 : c.GetProperty("safe").GetBoolean() ? 127 : 1;
            Assert.True(worst <= tolerance && wrong <= expected.Length / 1000, $"{name}: {wrong} of {expected.Length} pixels differ, by up to {worst} levels");
            // A map, not a flat image: safe mode leaves the three levels only, a scribble black and white.
            var levels = expected.Distinct().Order().ToArray();
            Assert.True(scribble ? levels.SequenceEqual(new byte[] { 0, 255 }) : c.GetProperty("safe").GetBoolean() ? levels.SequenceEqual(new byte[] { 0, 127, 255 }) : levels.Length > 100, name);
        }
    }

    // The reference's plain maps hold ⌊255·p⌋: 128 and up is p > 0.5 (white in the sketch), 126 and below p < 0.5; 127 is
    // either, so those pixels are not checked.
    [Fact]
    public async Task Sketch_is_the_plain_map_thresholded_at_one_half_as_t2ia_sketch_pidi()
    {
        using var temp = new TempFolder();
        var image = WriteImage(temp);
        var weights = PidinetWeights.Shared().Replace('\\', '/');
        var cases = Oracle.GetProperty("cases").EnumerateArray().Where(c => !c.GetProperty("safe").GetBoolean()).ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: pidinet\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.pidinet, in: {{ image: source.image }}, with: {{ model: \"{weights}\", resolution: {cases[i].GetProperty("resolution").GetInt32()}, safe: false, sketch: true }} }}\n"));

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        Assert.NotEmpty(cases);
        for (var i = 0; i < cases.Count; i++)
        {
            var plain = cases[i].GetProperty("output").GetBytesFromBase64();
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            var plane = result.Height * result.Width;
            Assert.Equal(plain.Length, plane);
            int wrong = 0, white = 0;
            for (var p = 0; p < plane; p++)
            {
                var got = Enumerable.Range(0, 3).Select(ch => result.Pixels[ch * plane + p] * 255).ToArray();
                Assert.True(got.All(v => v is 0 or 255), $"case {i}: pixel {p} is {got[0]}, not black or white");
                if (got[0] == 255) white++;
                if (plain[p] != 127 && got[0] != (plain[p] >= 128 ? 255 : 0)) wrong++;
            }

            Assert.True(wrong <= plane / 1000 && white > 0 && white < plane, $"resolution {cases[i].GetProperty("resolution")}: {wrong} of {plane} pixels differ, {white} white");
        }
    }

    [Fact]
    public async Task Sketch_with_safe_fails_naming_sketch()
    {
        using var temp = new TempFolder();
        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: pidinet
            nodes:
              source: { node: image.load, with: { path: "{{WriteImage(temp).Replace('\\', '/')}}" } }
              pidinet: { node: image.pidinet, in: { image: source.image }, with: { model: "{{PidinetWeights.Shared().Replace('\\', '/')}}", resolution: 64, safe: true, sketch: true } }
            """, new Dictionary<string, object?>());
        run.AssertFailed("pidinet", "sketch", "safe");
    }

    [Fact]
    public async Task Keys_without_the_module_prefix_read_the_same()
    {
        using var temp = new TempFolder();
        // A stable path, so the converted graph is cached once per machine.
        var path = Path.Combine(PidinetWeights.ModelsFolder, "bare", "table5_pidinet.pth");
        TorchSaveFile.WriteOnce(path, staging => PidinetWeights.Write(staging, prefix: false));
        var run = (await RunAsync(WriteImage(temp), path)).AssertCompleted();
        var c = Oracle.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("resolution").GetInt32() == 64 && !c.GetProperty("safe").GetBoolean());
        var (wrong, worst) = Compare(Assert.IsType<Image>(run.Result.Output("pidinet", "result")), c.GetProperty("output").GetBytesFromBase64());
        Assert.True(worst <= 1 && wrong <= 5, $"{wrong} pixels differ by up to {worst}");
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(WriteImage(temp), Path.Combine(temp.Path, "table5_pidinet.pth"));
        run.AssertFailed("pidinet", "table5_pidinet.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "table5_pidinet.pth")]
    [InlineData("skip", "block3_2.conv1.weight")]
    [InlineData("reshape", "dilations.2.conv2_3.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "pidinet", "table5_pidinet.pth", damage, expected, (file, skip, reshape) => PidinetWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(WriteImage(temp), path);
        run.AssertFailed("pidinet", path, expected);
    }

    private static Task<SdRun> RunAsync(string image, string weights) => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: pidinet
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          pidinet: { node: image.pidinet, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: 64, safe: false } }
        """, new Dictionary<string, object?>());

    private static (int Wrong, int Worst) Compare(Image result, byte[] expected) => SoftEdgeReferences.Compare(result, expected);

    private static string WriteImage(TempFolder temp) => SoftEdgeReferences.WriteImage(Oracle, temp);
}
