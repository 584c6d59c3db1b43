using System.Text;
using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.anyline against tools/reference/make_anyline.py (aux's AnyLineArtPreprocessor_aux restated, scikit-image's
/// remove_small_objects as a 3-D breadth-first search): on the reference's seeded 8-bit edge and line maps the merge is
/// bit-exact in float32 for several bounds, sizes and connectivities; after image.teed (make_teed.py's weights as MTEED)
/// and image.lineart_standard (σ 2, threshold 3) it matches the whole node except where TEED's level differs (at most 1
/// pixel in 1000, as ImageTeedTests allows). Mismatched maps and widgets out of range are refused naming the field.
/// </summary>
public sealed class ImageAnylineTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "anyline-reference.json"))).RootElement;

    [Fact]
    public async Task Merge_is_bit_exact_for_every_bound_size_and_connectivity_of_the_reference()
    {
        using var temp = new TempFolder();
        var (edges, lines) = WriteMaps(temp);
        var cases = Oracle.GetProperty("merge").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: anyline\nnodes:\n  edges: {{ node: image.load, with: {{ path: \"{edges}\" }} }}\n  lines: {{ node: image.load, with: {{ path: \"{lines}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            yaml.Append(FormattableString.Invariant(
                $"  case{i}: {{ node: image.anyline, in: {{ edges: edges.image, lines: lines.image }}, with: {{ lower_bound: {c.GetProperty("lower").GetDouble()}, upper_bound: {c.GetProperty("upper").GetDouble()}, min_size: {c.GetProperty("min_size").GetInt32()}, connectivity: {c.GetProperty("connectivity").GetInt32()} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        var maps = Oracle.GetProperty("maps");
        int height = maps.GetProperty("height").GetInt32(), width = maps.GetProperty("width").GetInt32();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var name = $"lower {c.GetProperty("lower")} upper {c.GetProperty("upper")} min_size {c.GetProperty("min_size")} connectivity {c.GetProperty("connectivity")}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((height, width) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = Floats(c.GetProperty("output"));
            var wrong = 0;
            for (var p = 0; p < height * width; p++)
                for (var ch = 0; ch < 3; ch++)
                    if (BitConverter.SingleToInt32Bits(result.Pixels[ch * height * width + p]) != BitConverter.SingleToInt32Bits(expected[3 * p + ch])) wrong++;
            Assert.True(wrong == 0, $"{name}: {wrong} of {3 * height * width} values differ");
        }
    }

    [Fact]
    public async Task Teed_and_standard_lineart_then_the_merge_draw_the_whole_nodes_map()
    {
        using var temp = new TempFolder();
        var image = SoftEdgeReferences.WriteImage(Oracle, temp);
        var weights = TeedWeights.Shared().Replace('\\', '/');
        var cases = Oracle.GetProperty("pipeline").EnumerateArray().ToList();
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: anyline\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var resolution = c.GetProperty("resolution").GetInt32();
            yaml.Append(FormattableString.Invariant($"  edges{i}: {{ node: image.teed, in: {{ image: source.image }}, with: {{ model: \"{weights}\", resolution: {resolution}, safe_steps: 2 }} }}\n"));
            yaml.Append(FormattableString.Invariant($"  lines{i}: {{ node: image.lineart_standard, in: {{ image: source.image }}, with: {{ gaussian_sigma: 2, intensity_threshold: 3, resolution: {resolution} }} }}\n"));
            yaml.Append(FormattableString.Invariant(
                $"  case{i}: {{ node: image.anyline, in: {{ edges: edges{i}.result, lines: lines{i}.result }}, with: {{ lower_bound: {c.GetProperty("lower").GetDouble()}, upper_bound: {c.GetProperty("upper").GetDouble()}, min_size: {c.GetProperty("min_size").GetInt32()}, connectivity: {c.GetProperty("connectivity").GetInt32()} }} }}\n"));
        }

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            int height = c.GetProperty("height").GetInt32(), width = c.GetProperty("width").GetInt32();
            Assert.True((height, width) == (result.Height, result.Width), $"case {i}: {result.Width}×{result.Height}");
            var expected = Floats(c.GetProperty("output"));
            var wrong = 0;
            for (var p = 0; p < expected.Length; p++)
                if (Enumerable.Range(0, 3).Any(ch => result.Pixels[ch * expected.Length + p] != expected[p])) wrong++;
            Assert.True(wrong <= expected.Length / 1000, $"case {i} (resolution {c.GetProperty("resolution")}): {wrong} of {expected.Length} pixels differ");
        }
    }

    [Fact]
    public async Task Maps_of_different_sizes_fail_naming_the_lines_input()
    {
        using var temp = new TempFolder();
        var (edges, lines) = WriteMaps(temp);
        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: anyline
            nodes:
              edges: { node: image.load, with: { path: "{{edges}}" } }
              lines: { node: image.load, with: { path: "{{lines}}" } }
              small: { node: image.resize, in: { image: lines.image }, with: { width: 26, height: 20 } }
              anyline: { node: image.anyline, in: { edges: edges.image, lines: small.resized } }
            """, new Dictionary<string, object?>());
        run.AssertFailed("anyline", "lines", "does not match edges");
    }

    [Theory]
    [InlineData("min_size: 0", "parameter 'min_size': 0 is below the minimum 1")]
    [InlineData("connectivity: 0", "parameter 'connectivity': 0 is below the minimum 1")]
    [InlineData("lower_bound: 1.5", "parameter 'lower_bound': 1.5 is above the maximum 1")]
    [InlineData("upper_bound: -0.01", "parameter 'upper_bound': -0.01 is below the minimum 0")]
    public void Widgets_out_of_range_are_refused_before_the_run_naming_the_parameter(string with, string message)
    {
        var validation = SdEngine.Shared.Parse($$"""
            flowdiffusion: 1
            name: anyline
            nodes:
              edges: { node: image.load, with: { path: edges.png } }
              anyline: { node: image.anyline, in: { edges: edges.image, lines: edges.image }, with: { {{with}} } }
            """, new Dictionary<string, object?>());
        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 'anyline': {message}", StringComparison.Ordinal));
    }

    // The reference's 8-bit edge and line maps as grey PNGs.
    private static (string Edges, string Lines) WriteMaps(TempFolder temp)
    {
        var maps = Oracle.GetProperty("maps");
        int height = maps.GetProperty("height").GetInt32(), width = maps.GetProperty("width").GetInt32();
        string Write(string name)
        {
            var grey = maps.GetProperty(name).GetBytesFromBase64();
            var path = Path.Combine(temp.Path, name + ".png");
            TestPng.WriteRgb(path, width, height, (x, y) => (grey[y * width + x], grey[y * width + x], grey[y * width + x]));
            return path.Replace('\\', '/');
        }

        return (Write("edges"), Write("lines"));
    }

    private static float[] Floats(JsonElement base64)
    {
        var bytes = base64.GetBytesFromBase64();
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}
