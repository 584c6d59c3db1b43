using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator.Graph;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Xunit;
using OnnxType = FlowDiffusion.Onnx.Proto.TensorElementType;
using OrtType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>Small hand-built graphs for the export quirks the analytic variants do not cover.</summary>
public sealed class ExportVariantTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private readonly OnnxSessionCache _cache = new();

    [Fact]
    public void Text_encoder_with_int64_ids_and_fp16_output_gives_float32_hidden_states()
    {
        var g = new GraphBuilder("int64_text_encoder");
        var ids = g.Input("input_ids", OnnxType.Int64, "batch", 77);
        var table = g.Weight("embedding", [.. Enumerable.Range(0, 10 * 2).Select(i => i * 0.25f)], 10, 2);
        g.Output(g.Cast(g.Gather(table, ids), OnnxType.Float16), "last_hidden_state", OnnxType.Float16, "batch", 77, 2);
        var encoder = TextEncoder.Open(_cache, Write(g, "int64-text"));
        var tokens = Enumerable.Range(0, 77).Select(i => i % 10).ToArray();

        var hidden = encoder.Encode(tokens);

        Assert.Equal(OrtType.Int64, encoder.IdsType);
        Assert.Equal(77, encoder.SequenceLength);
        Assert.Equal([1, 77, 2], hidden.Shape);
        Assert.Equal([0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f], hidden.Values[..6]);
        Assert.Equal(4.75f, hidden.Values[2 * 9 + 1]); // token 9 → row 9 = (18, 19)·0.25
    }

    [Fact]
    public void Unet_with_timestep_fixed_at_one_element_takes_a_shared_timestep_for_the_batch()
    {
        using var unet = UNet.Open(_cache, Write(ScalingUNet(timestepDims: [1]), "fixed-one"));
        var shape = new LatentShape(2, 4, 2, 2);
        var sample = Enumerable.Range(0, shape.Length).Select(i => (float)i).ToArray();

        var prediction = unet.Predict(sample, shape, [3f, 3f], new float[2 * 5 * 8], 5);

        Assert.Equal(sample.Select(v => 3f * v), prediction);
        Assert.Throws<ModelMismatchException>(() => unet.Predict(sample, shape, [3f, 4f], new float[2 * 5 * 8], 5));
    }

    [Fact]
    public void Unet_with_a_rank_3_sample_is_refused_naming_the_file_and_what_it_declares()
    {
        var g = new GraphBuilder("rank3_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", 4, "width");
        g.Input("timestep", OnnxType.Int64, "batch");
        g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", 8);
        g.Output(sample, "out_sample", OnnxType.Float, "batch", 4, "width");
        var path = Write(g, "rank3");

        var error = Assert.Throws<ModelMismatchException>(() => UNet.Open(_cache, path));

        Assert.Equal(path, error.ModelPath);
        Assert.Contains(path, error.Message);
        Assert.Contains("input 'sample' of type float32 or float16 with rank 4", error.Message);
        Assert.Contains("sample float32 [batch, 4, width]", error.Message);
    }

    [Fact]
    public void Fp16_vae_decoder_is_fed_and_read_as_float32()
    {
        // sample = 8× nearest upsampling of 2 · latents[:, :3], computed in float32 between float16 input and output.
        var g = new GraphBuilder("fp16_decoder");
        var latent = g.Input("latent_sample", OnnxType.Float16, "batch", 4, "h", "w");
        var doubled = g.Mul(g.Cast(latent, OnnxType.Float), g.Scalar(2f));
        var rgb = g.UpsampleNearest(g.Slice(doubled, [0], [3], [1]), 8);
        g.Output(g.Cast(rgb, OnnxType.Float16), "sample", OnnxType.Float16, "batch", 3, "height", "width");
        var decoder = VaeDecoder.Open(_cache, Write(g, "fp16-decoder"));

        var image = decoder.Decode([0.5f, -1.25f, 3f, 0.1f], [1, 4, 1, 1]);

        Assert.Equal([1, 3, 8, 8], image.Shape);
        Assert.Equal(Enumerable.Repeat(1f, 64).Concat(Enumerable.Repeat(-2.5f, 64)).Concat(Enumerable.Repeat(6f, 64)), image.Values, new Fp16Tolerance());
    }

    [Fact]
    public void Vae_decoder_that_does_not_upsample_eight_times_is_named_with_both_shapes()
    {
        var g = new GraphBuilder("flat_decoder");
        var latent = g.Input("latent_sample", OnnxType.Float, "batch", 4, "h", "w");
        g.Output(g.Slice(latent, [0], [3], [1]), "sample", OnnxType.Float, "batch", 3, "h", "w");
        var path = Write(g, "flat-decoder");
        var decoder = VaeDecoder.Open(_cache, path);

        var error = Assert.Throws<ModelMismatchException>(() => decoder.Decode(new float[4 * 2 * 3], [1, 4, 2, 3]));

        Assert.Equal(path, error.ModelPath);
        Assert.Contains("did not decode [1, 4, 2, 3] latents to [1, 3, 16, 24] images (8× upsampling)", error.Message);
    }

    public void Dispose() => _cache.Dispose();

    // out_sample = sample · timestep, with the timestep declared as float32 of the given dims.
    private static GraphBuilder ScalingUNet(long[] timestepDims)
    {
        var g = new GraphBuilder("scaling_unet");
        var sample = g.Input("sample", OnnxType.Float, "batch", 4, "height", "width");
        var timestep = g.Input("timestep", OnnxType.Float, [.. timestepDims.Select(d => (FlowDiffusion.Onnx.Proto.OnnxDim)d)]);
        g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", 8);
        g.Output(g.Mul(sample, timestep), "out_sample", OnnxType.Float, "batch", 4, "height", "width");
        return g;
    }

    private string Write(GraphBuilder graph, string name)
    {
        var folder = Path.Combine(models.Root, "export-" + name);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        File.WriteAllBytes(path, graph.Build(name).ToBytes());
        return path;
    }

    private sealed class Fp16Tolerance : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= 1e-3f * (1 + Math.Abs(y));

        public int GetHashCode(float obj) => 0;
    }
}
