using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using Xunit.Abstractions;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Runs alone: the memory test counts the process's allocations.</summary>
[CollectionDefinition(nameof(AllocationSensitive), DisableParallelization = true)]
public sealed class AllocationSensitive;

/// <summary>
/// upscale.load and image.upscale_with_model on a generated 2× network (two 3×3 convolutions and a pixel shuffle over a
/// nearest-neighbour skip: receptive radius 2 input pixels), once with dynamic sizes and once fixed at 64×64.
/// </summary>
[Collection(nameof(AllocationSensitive))]
public sealed class UpscaleModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = Models();

    private static TempFolder Models()
    {
        var folder = new TempFolder();
        File.WriteAllBytes(Path.Combine(folder.Path, "tiny2x.onnx"), TwoTimes("h", "w").ToBytes());
        File.WriteAllBytes(Path.Combine(folder.Path, "tiny2x-64.onnx"), TwoTimes(64, 64).ToBytes());
        return folder;
    }

    private string DynamicModel => Path.Combine(_folder.Path, "tiny2x.onnx");

    private string FixedModel => Path.Combine(_folder.Path, "tiny2x-64.onnx");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Tiled_upscale_equals_one_pass_when_the_overlap_covers_the_receptive_field_and_reads_the_scale_from_the_model()
    {
        var run = (await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: upscale-tiles
            nodes:
              image: { node: image.load, with: { path: workflows/assets/landscape.png, width: 192, height: 128 } }
              model: { node: upscale.load, with: { path: "{{DynamicModel}}" } }
              whole: { node: image.upscale_with_model, in: { upscale_model: model.upscale_model, image: image.image }, with: { tile_size: 1024 } }
              tiled: { node: image.upscale_with_model, in: { upscale_model: model.upscale_model, image: image.image }, with: { tile_size: 64, overlap: 16 } }
              seams: { node: image.upscale_with_model, in: { upscale_model: model.upscale_model, image: image.image }, with: { tile_size: 64, overlap: 0 } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var whole = run.Image("whole", "upscaled");
        Assert.Equal((384, 256), (whole.Width, whole.Height));
        var tiled = run.Image("tiled", "upscaled");
        Assert.Equal((384, 256), (tiled.Width, tiled.Height));
        var worst = whole.ToArray().Zip(tiled.ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5, $"tiled differs from one pass by up to {worst}");

        // 192×128 is exactly 3×2 tiles of 64: without overlap the tiles' cut edges show, so the comparison above can fail.
        var seams = whole.ToArray().Zip(run.Image("seams", "upscaled").ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(seams > 1e-3, $"overlap 0 should leave seams, but differs by only {seams}");

        // The network is an upscale of the image: pixel (2x+1, 2y+1) stays near source pixel (x, y), within the residual's size.
        var source = run.Image("image", "image");
        var near = Enumerable.Range(0, 3 * 128 * 192).Average(i =>
        {
            int c = i / (128 * 192), y = i / 192 % 128, x = i % 192;
            return Math.Abs(source.Pixels[i] - whole.Pixels[(c * 256 + 2 * y + 1) * 384 + 2 * x + 1]);
        });
        Assert.True(near < 0.1, $"mean distance from the source {near}");
    }

    [Fact]
    public async Task A_large_upscale_runs_the_network_only_on_tiles_and_allocates_little_beyond_the_result()
    {
        var load = $$"""
            flowdiffusion: 1
            name: upscale-memory
            nodes:
              image: { node: image.load, with: { path: workflows/assets/landscape.png, width: 512, height: 512 } }
              model: { node: upscale.load, with: { path: "{{FixedModel}}" } }
            """;
        (await SdEngine.Shared.RunYamlAsync(load, new Dictionary<string, object?>())).AssertCompleted(); // warms the cache and the session
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var run = (await SdEngine.Shared.RunYamlAsync(load + """

              up: { node: image.upscale_with_model, in: { upscale_model: model.upscale_model, image: image.image }, with: { overlap: 8 } }
            """, new Dictionary<string, object?>())).AssertCompleted();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        var up = run.Image("up", "upscaled");
        Assert.Equal((1024, 1024), (up.Width, up.Height));
        Assert.Equal(0, run.CachedCount("up"));
        // The export takes exactly 64×64 (ONNX Runtime refuses anything else), so every evaluation was one tile.
        var result = 3L * 1024 * 1024 * sizeof(float);
        output.WriteLine($"allocated {allocated / 1048576.0:F2} MB for a {result / 1048576.0:F2} MB result");
        Assert.True(allocated < result + (2L << 20), $"allocated {allocated / 1048576.0:F1} MB for a {result / 1048576.0:F1} MB result");
    }

    [Fact]
    public async Task The_upscale_workflow_upscales_with_the_model_and_rescales_with_lanczos()
    {
        var run = (await SdEngine.Shared.RunFileAsync("upscale.yaml", new Dictionary<string, object?>
        {
            ["upscale_model"] = DynamicModel, ["tile_size"] = "192", ["rescale"] = "0.75",
        })).AssertCompleted();
        Assert.Equal((1024, 1024), (run.Image("upscale", "upscaled").Width, run.Image("upscale", "upscaled").Height));
        Assert.Equal((768, 768), (run.Image("rescale", "resized").Width, run.Image("rescale", "resized").Height));
        Assert.NotEmpty(run.Result.OutputFiles);
    }

    [Fact]
    public async Task Upscale_errors_name_the_parameter()
    {
        var run = await SdEngine.Shared.RunYamlAsync($$"""
            flowdiffusion: 1
            name: upscale-errors
            nodes:
              image: { node: image.load, with: { path: workflows/assets/landscape.png, width: 48, height: 48 } }
              model: { node: upscale.load, with: { path: "{{FixedModel}}" } }
              up: { node: image.upscale_with_model, in: { upscale_model: model.upscale_model, image: image.image } }
            """, new Dictionary<string, object?>());
        Assert.Equal("up", run.Result.FailedNode);
        Assert.Contains("64×64", run.Result.Error);
    }

    // x → x upsampled 2× (nearest) + 0.1·PixelShuffle2(conv3×3(LeakyReLU(conv3×3(x)))).
    private static OnnxModel TwoTimes(OnnxDim height, OnnxDim width)
    {
        var random = new Random(5);
        float[] Weights(int count, double scale) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale))];
        var g = new GraphBuilder("tiny2x");
        var x = g.Input("input", TensorElementType.Float, 1, 3, height, width);
        var h = g.Conv(x, g.Weight("conv1.weight", Weights(8 * 3 * 9, 0.5), 8, 3, 3, 3), g.Weight("conv1.bias", Weights(8, 0.1), 8), 3, pad: 1);
        h = g.Node("LeakyRelu", [h], OnnxAttribute.Float("alpha", 0.2f));
        h = g.Conv(h, g.Weight("conv2.weight", Weights(12 * 8 * 9, 0.3), 12, 8, 3, 3), g.Weight("conv2.bias", Weights(12, 0.1), 12), 3, pad: 1);
        h = g.Node("DepthToSpace", [h], OnnxAttribute.Int("blocksize", 2), OnnxAttribute.String("mode", "CRD"));
        var y = g.Add(g.UpsampleNearest(x, 2), g.Mul(h, g.Scalar(0.1f)));
        OnnxDim Twice(OnnxDim d) => d.Param is null ? d.Value * 2 : d.Param + "2";
        g.Output(y, "output", TensorElementType.Float, 1, 3, Twice(height), Twice(width));
        return g.Build("2x test upscaler");
    }
}
