using System.Text;
using System.Text.Json;
using FlowDiffusion.Checkpoints.Annotators;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;
using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.manga_lineart reads an erika.pth in res_skip's published layout (float16 storages, int64 num_batches_tracked;
/// make_manga_line.py's deterministic weights, written here) and draws the maps of tools/reference/make_manga_line.py, torch
/// modules restating MangaLineExtraction with aux's and the extension's pipelines: within one level at no more than 1 pixel
/// in 100 (43 million weights, 97 convolutions deep: ONNX Runtime sums in another order than torch and a truncation
/// flips a level where the line is within a rounding error of an integer). Aux's inversion after truncating and the
/// extension's before it are one level apart at most pixels, so that tolerance tells them apart. Missing or broken weights
/// fail naming the file and the tensor.
/// </summary>
public sealed class ImageMangaLineartTests
{
    private static readonly JsonElement Oracle = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Nodes.StableDiffusion.Tests", "TestData", "manga-line-reference.json"))).RootElement;

    [Fact]
    public async Task Manga_lineart_draws_the_references_maps_with_auxs_and_the_extensions_pipelines()
    {
        using var temp = new TempFolder();
        var image = SoftEdgeReferences.WriteImage(Oracle, temp);
        var weights = MangaLineWeights.Shared().Replace('\\', '/');
        // Aux's cases again at resolution 200: it rounds the resolution up to 256, so the same map.
        var cases = Oracle.GetProperty("cases").EnumerateArray()
            .Select(c => (Resolution: c.GetProperty("resolution").GetInt32(), Variant: c.GetProperty("variant").GetString()!, Case: c)).ToList();
        cases.AddRange(cases.Where(c => c.Variant == "aux").Select(c => (200, c.Variant, c.Case)).ToList());
        var yaml = new StringBuilder($"flowdiffusion: 1\nname: manga\nnodes:\n  source: {{ node: image.load, with: {{ path: \"{image}\" }} }}\n");
        for (var i = 0; i < cases.Count; i++)
            yaml.Append(FormattableString.Invariant($"  case{i}: {{ node: image.manga_lineart, in: {{ image: source.image }}, with: {{ model: \"{weights}\", resolution: {cases[i].Resolution}, variant: {cases[i].Variant} }} }}\n"));

        var run = (await SdEngine.Shared.RunYamlAsync(yaml.ToString(), new Dictionary<string, object?>())).AssertCompleted();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i].Case;
            var name = $"resolution {cases[i].Resolution} {cases[i].Variant}";
            var result = Assert.IsType<Image>(run.Result.Output($"case{i}", "result"));
            Assert.True((c.GetProperty("height").GetInt32(), c.GetProperty("width").GetInt32()) == (result.Height, result.Width), $"{name}: {result.Width}×{result.Height}");
            var expected = c.GetProperty("output").GetBytesFromBase64();
            var (wrong, worst) = SoftEdgeReferences.Compare(result, expected);
            Assert.True(worst <= 1 && wrong <= expected.Length / 100, $"{name}: {wrong} of {expected.Length} pixels differ, by up to {worst} levels");
            // A drawing, not a flat image: every level, and the line past both ends of 0..255 somewhere.
            Assert.True(expected.Distinct().Count() == 256 && expected.Count(v => v == 0) > expected.Length / 100 && expected.Count(v => v == 255) > expected.Length / 100, $"{name}: the reference is too flat");
        }
    }

    [Fact]
    public async Task Missing_weights_fail_naming_the_file_and_the_annotators_folder()
    {
        using var temp = new TempFolder();
        var run = await RunAsync(SoftEdgeReferences.WriteImage(Oracle, temp), Path.Combine(temp.Path, "erika.pth"));
        run.AssertFailed("manga", "erika.pth", "models/annotators");
    }

    [Theory]
    [InlineData("garbage", "erika.pth")]
    [InlineData("skip", "block4.model.11.shortcut.model.0.weight")]
    [InlineData("skip", "conv15.model.0.running_var")]
    [InlineData("reshape", "block5.model.0.shortcut.model.0.weight")]
    [InlineData("reshape", "block9.model.1.residual.model.2.weight")]
    public async Task Broken_weights_fail_naming_the_file_and_what_is_wrong(string damage, string expected)
    {
        using var temp = new TempFolder();
        var path = AnnotatorWeightsDamage.Write(temp, "manga", "erika.pth", damage, expected, (file, skip, reshape) => MangaLineWeights.Write(file, skip: skip, reshape: reshape));
        var run = await RunAsync(SoftEdgeReferences.WriteImage(Oracle, temp), path);
        run.AssertFailed("manga", path, expected);
    }

    [Fact]
    public void A_DataParallel_save_with_module_prefixes_reads_as_the_plain_one()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "erika.pth");
        MangaLineWeights.Write(path, prefix: "module.");
        using var prefixed = MangaLineCheckpoint.Open(path);
        using var plain = MangaLineCheckpoint.Open(MangaLineWeights.Shared());
        Assert.Equal(MangaLineCheckpoint.Layout().Count(), prefixed.Tensors.Count);
        Assert.Equal(plain.Tensors.Keys.Order(), prefixed.Tensors.Keys.Order());
    }

    [Fact]
    public async Task Auxs_rounding_to_256_counts_against_the_pixel_limit_before_the_weights_are_read()
    {
        // 76 × 100 at 3520: the extension's 3520 × 4672 padded fits 4096²; aux's 3584 × 4736 does not.
        using var temp = new TempFolder();
        var image = SoftEdgeReferences.WriteImage(Oracle, temp);
        var missing = Path.Combine(temp.Path, "erika.pth");
        var aux = await RunAsync(image, missing, 3520, "aux");
        Assert.Equal(RunStatus.Failed, aux.Result.Status);
        Assert.Contains("resolution", aux.Result.Error);
        Assert.Contains("FlowDiffusion:MaxImagePixels", aux.Result.Error);
        Assert.DoesNotContain("erika.pth", aux.Result.Error);
        var webui = await RunAsync(image, missing, 3520, "webui");
        Assert.Equal(RunStatus.Failed, webui.Result.Status);
        Assert.Contains("erika.pth", webui.Result.Error);
    }

    [Theory]
    [InlineData("resolution: 32", "parameter 'resolution': 32 is below the minimum 64")]
    [InlineData("resolution: 16448", "parameter 'resolution': 16448 is above the maximum 16384")]
    [InlineData("variant: comfy", "parameter 'variant'")]
    public void Parameters_outside_their_range_are_refused_before_the_run_naming_them(string with, string message)
    {
        var validation = SdEngine.Shared.Parse($$"""
            flowdiffusion: 1
            name: manga
            nodes:
              source: { node: image.load, with: { path: strokes.png } }
              manga: { node: image.manga_lineart, in: { image: source.image }, with: { {{with}} } }
            """, new Dictionary<string, object?>());
        Assert.False(validation.IsValid);
        Assert.Contains(validation.Diagnostics, d => d.ToString()!.Contains($"node 'manga': {message}", StringComparison.Ordinal));
    }

    private static Task<SdRun> RunAsync(string image, string weights, int resolution = 64, string variant = "webui") => SdEngine.Shared.RunYamlAsync($$"""
        flowdiffusion: 1
        name: manga
        nodes:
          source: { node: image.load, with: { path: "{{image.Replace('\\', '/')}}" } }
          manga: { node: image.manga_lineart, in: { image: source.image }, with: { model: "{{weights.Replace('\\', '/')}}", resolution: {{resolution}}, variant: {{variant}} } }
        """, new Dictionary<string, object?>());
}
