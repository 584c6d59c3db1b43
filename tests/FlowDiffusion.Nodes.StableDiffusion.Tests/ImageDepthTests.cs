using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// image.depth on a generated ONNX "depth model" whose output is known in closed form: the square of the normalised red
/// channel, [1, 1, h, w]. The node's result is that map min-max scaled to 0..1, at the image's size.
/// </summary>
public sealed class ImageDepthTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public ImageDepthTests()
    {
        File.WriteAllBytes(Path.Combine(_folder.Path, "red-squared.onnx"), RedSquared("h", "w").ToBytes());
        File.WriteAllBytes(Path.Combine(_folder.Path, "red-squared-16.onnx"), RedSquared(16, 16).ToBytes());
    }

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("dpt", 0.5f, 0.5f)]
    [InlineData("none", 0f, 1f)]
    public async Task The_depth_map_is_the_models_output_normalised_to_0_1_in_closed_form(string normalize, float mean, float std)
    {
        var run = await RunAsync("red-squared.onnx", 32, 32, 32, normalize);
        var source = run.Image("small", "resized");
        var depth = run.Image("depth", "depth");
        Assert.Equal((32, 32), (depth.Height, depth.Width));
        var red = source.PixelsOf(0)[..(32 * 32)].ToArray();
        var raw = red.Select(r => ((r - mean) / std) * ((r - mean) / std)).ToArray();
        float min = raw.Min(), max = raw.Max();
        var expected = raw.Select(v => (v - min) / (max - min)).ToArray();
        var pixels = depth.PixelsOf(0).ToArray();
        for (var c = 0; c < 3; c++)
        {
            var worst = expected.Zip(pixels[(c * 1024)..((c + 1) * 1024)]).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(worst <= 1e-5, $"channel {c}: max |difference| {worst:G4}");
        }
    }

    [Fact]
    public async Task Normalisation_changes_the_map_and_the_result_comes_back_at_the_image_size()
    {
        var dpt = (await RunAsync("red-squared.onnx", 48, 40, 32, "dpt")).Image("depth", "depth");
        var none = (await RunAsync("red-squared.onnx", 48, 40, 32, "none")).Image("depth", "depth");
        Assert.Equal((48, 40), (dpt.Height, dpt.Width));
        Assert.Equal(0f, dpt.ToArray().Min());
        Assert.Equal(1f, dpt.ToArray().Max(), 1e-6f);
        Assert.True(dpt.ToArray().Zip(none.ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 0.05, "(2r − 1)² and r² must give different maps");

        var fixedSize = (await RunAsync("red-squared-16.onnx", 48, 40, 384, "dpt")).Image("depth", "depth");
        Assert.Equal((48, 40), (fixedSize.Height, fixedSize.Width));
    }

    [Fact]
    public async Task Without_a_model_the_error_names_the_annotators_folder()
    {
        var run = await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(_folder.Path, "missing.onnx"), 32, 32, 32, "dpt"), new Dictionary<string, object?>());
        Assert.Equal(Engine.Execution.RunStatus.Failed, run.Result.Status);
        Assert.Equal("depth", run.Result.FailedNode);
        Assert.Contains("models/annotators", run.Result.Error);
        Assert.Contains("missing.onnx", run.Result.Error);
    }

    private async Task<SdRun> RunAsync(string model, int height, int width, int resolution, string normalize) =>
        (await SdEngine.Shared.RunYamlAsync(Yaml(Path.Combine(_folder.Path, model), height, width, resolution, normalize), new Dictionary<string, object?>())).AssertCompleted();

    private static string Yaml(string model, int height, int width, int resolution, string normalize) => $$"""
        flowdiffusion: 1
        name: depth
        nodes:
          image: { node: image.load, with: { path: workflows/assets/landscape.png } }
          small: { node: image.resize, in: { image: image.image }, with: { width: {{width}}, height: {{height}}, method: area } }
          depth: { node: image.depth, in: { image: small.resized }, with: { model: "{{model}}", resolution: {{resolution}}, normalize: {{normalize}} } }
        """;

    private static OnnxModel RedSquared(OnnxDim height, OnnxDim width)
    {
        var g = new GraphBuilder("red-squared");
        var x = g.Input("image", TensorElementType.Float, 1, 3, height, width);
        var red = g.Slice(x, [0], [1], [1]);
        g.Output(g.Mul(red, red), "depth", TensorElementType.Float, 1, 1, height, width);
        return g.Build("closed-form test depth model: the normalised red channel squared");
    }
}
