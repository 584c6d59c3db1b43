using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph with ToMe's inputs (<see cref="UNetExtraInputs.TokenMerge"/>) and the host's token order
/// (<see cref="TokenMerge.Tokens"/>) against ComfyUI's TomePatchModel in torch with the top-left dst rule
/// (tools/reference/make_tome.py) on the tiny SD 2.x checkpoint, whose first level attends at full resolution (5 merged
/// self-attentions), at square and odd-sided latents, batch 2 in one call. Tolerance 1e-4 on predictions of magnitude ~1
/// (float32 against torch); each merged case differs from the plain UNet by more than 0.3.
/// </summary>
public sealed class TokenMergeReferenceTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "tome");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-tome-").FullName;

    [Theory]
    [InlineData("square_03", 0.3)]
    [InlineData("square_05", 0.5)]
    [InlineData("odd_wide_05", 0.5)]
    [InlineData("square_09", 0.9)]
    public void Token_merge_graph_matches_ComfyUI_TomePatchModel_in_torch(string name, double ratio)
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, Sd2Reference.File, DiffusersOnnxFolder.EveryUNetGraph);
        var sample = Load(name + ".sample");
        var merge = new TokenMerge(ratio);
        var tokens = merge.Tokens((int)sample.Shape[2], (int)sample.Shape[3]);
        Assert.NotNull(tokens);
        Assert.Equal(Load(name + ".params").Values, new[] { (float)ratio, (float)tokens.Value.Merged });

        Assert.True(unet.TakesTokenMerge);
        var actual = Predict(unet, sample, new UNetVariantInputs(TokenMerge: merge));
        Reference.AssertClose(Load(name + ".out_sample"), actual, Tolerance, $"ToMe {name} out_sample");
        Reference.AssertClose(Load(name + ".plain"), Predict(unet, sample, new UNetVariantInputs()), Tolerance, $"plain {name} out_sample");
        Assert.True(Reference.MaxDifference(actual.Values, Load(name + ".plain").Values) > 0.3, "the case must be far from the plain UNet");
    }

    [Fact]
    public void Token_order_is_each_cells_top_left_token_then_the_rest_and_r_is_capped_by_the_srcs()
    {
        // 3 × 5 tokens: cells (0, 0) and (0, 2) only; the last row and column are src only. int(15 · 0.5) = 7.
        var tokens = new TokenMerge(0.5).Tokens(3, 5)!.Value;
        Assert.Equal([0L, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], tokens.Order);
        Assert.Equal((2L, 7L), (tokens.Dsts, tokens.Merged));
        Assert.Equal(12L, new TokenMerge(1).Tokens(4, 4)!.Value.Merged); // 16 tokens, 4 dsts: at most 12 merged
        Assert.Equal(1228L, new TokenMerge(0.3).Tokens(64, 64)!.Value.Merged); // int(4096 · 0.3) = int(1228.8)
        Assert.Null(new TokenMerge(0.3).Tokens(1, 64)); // a side of 1: ComfyUI merges nothing
        Assert.Null(new TokenMerge(0.003).Tokens(16, 16)); // int(0.768) = 0
        Assert.Null(new TokenMerge(0).Tokens(64, 64));
        Assert.Contains("ratio must be 0 … 1", new TokenMerge(1.01).Problem());
        Assert.Contains("ratio must be 0 … 1", new TokenMerge(double.NaN).Problem());
    }

    [Fact]
    public void Token_merge_off_or_without_full_resolution_attention_is_the_plain_UNet_bit_for_bit()
    {
        using var cache = new OnnxSessionCache();
        var sample = Load("square_05.sample");
        var plain = Predict(Open(cache, Sd2Reference.File, UNetExtraInputs.None), sample, new UNetVariantInputs());
        var every = Open(cache, Sd2Reference.File, DiffusersOnnxFolder.EveryUNetGraph);
        Assert.Equal(plain.Values, Predict(every, sample, new UNetVariantInputs()).Values);
        Assert.Equal(plain.Values, Predict(every, sample, new UNetVariantInputs(TokenMerge: new TokenMerge(0))).Values);
        Assert.Equal(plain.Values, Predict(every, sample, new UNetVariantInputs(TokenMerge: new TokenMerge(0.003))).Values);

        // The tiny SD 1.x UNet attends only at its second level and in the middle: ComfyUI's max_downsample 1 matches none.
        var sd1Sample = Load("odd_wide_05.sample");
        var sd1Plain = Predict(Open(cache, Reference.LdmFile, UNetExtraInputs.None), sd1Sample, new UNetVariantInputs(), 64);
        var sd1Every = Open(cache, Reference.LdmFile, DiffusersOnnxFolder.EveryUNetGraph);
        Assert.Equal(sd1Plain.Values, Predict(sd1Every, sd1Sample, new UNetVariantInputs(TokenMerge: new TokenMerge(0.5)), 64).Values);
    }

    [Fact]
    public void Sdxl_has_no_full_resolution_attention_so_token_merge_changes_nothing()
    {
        // SDXL's first level has no transformers (the tiny checkpoint's neither), as ComfyUI's patch then finds no block.
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var every = checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph).ToBytes();
        var r = SdxlReference.Tensor("unet.sample");
        var tokens = new TokenMerge(0.5).Tokens((int)r.Shape[2], (int)r.Shape[3])!.Value;
        var plain = SdxlReference.RunUNet(every);
        var merged = SdxlReference.RunUNet(every,
            (TokenMerge.OrderInput, OrtValue.CreateTensorValueFromMemory(tokens.Order, [tokens.Order.Length])),
            (TokenMerge.CountsInput, OrtValue.CreateTensorValueFromMemory(new[] { tokens.Dsts, tokens.Merged }, [2])));
        Reference.AssertClose(SdxlReference.Tensor("unet.out_sample"), plain, Tolerance, "SDXL plain out_sample");
        Assert.Equal(plain.Values, merged.Values);
    }

    [Fact]
    public void Graph_names_are_the_runtime_names_and_an_older_graph_is_refused_by_builder_version()
    {
        using var cache = new OnnxSessionCache();
        Assert.Equal(TokenMergePatch.OrderName, TokenMerge.OrderInput);
        Assert.Equal(TokenMergePatch.CountsName, TokenMerge.CountsInput);
        var plain = Open(cache, Sd2Reference.File, UNetExtraInputs.None);
        Assert.False(plain.TakesTokenMerge);
        var sample = Load("square_03.sample");
        Assert.Contains("builder version 15", Assert.Throws<ArgumentException>(() => Predict(plain, sample, new UNetVariantInputs(TokenMerge: new TokenMerge(0.3)))).Message);
        var every = Open(cache, Sd2Reference.File, DiffusersOnnxFolder.EveryUNetGraph);
        Assert.Contains("ratio must be 0 … 1, not -0.1", Assert.Throws<ArgumentException>(() => Predict(every, sample, new UNetVariantInputs(TokenMerge: new TokenMerge(-0.1)))).Message);
    }

    [Fact]
    public void Fp16_export_keeps_the_int64_inputs_and_merges_in_half_precision()
    {
        // The If branches add no float constants (the mean's 1 lives outside them), so the fp16 graph runs both.
        using var checkpoint = Sd1Checkpoint.Open(Sd2Reference.File);
        var model = Float16Model.Convert(checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph));
        Assert.All(new[] { TokenMerge.OrderInput, TokenMerge.CountsInput }, name =>
            Assert.Contains(model.Graph.Inputs, i => i.Name == name && i.ElementType == Onnx.Proto.TensorElementType.Int64));
        var sample = Load("odd_wide_05.sample");
        var hidden = Load("encoder_hidden_states");
        var tokens = new TokenMerge(0.5).Tokens((int)sample.Shape[2], (int)sample.Shape[3])!.Value;
        using var session = new InferenceSession(model.ToBytes());
        float[] Run(bool merged)
        {
            var inputs = new List<NamedOnnxValue>
            {
                Reference.Half("sample", sample.Values, sample.Shape),
                Reference.Half("timestep", [500, 500], [2]),
                Reference.Half("encoder_hidden_states", hidden.Values, hidden.Shape),
            };
            if (merged)
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor(TokenMerge.OrderInput, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(tokens.Order, [tokens.Order.Length])));
                inputs.Add(NamedOnnxValue.CreateFromTensor(TokenMerge.CountsInput, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new[] { tokens.Dsts, tokens.Merged }, [2])));
            }

            using var results = session.Run(inputs);
            return [.. results[0].AsTensor<Float16>().Select(v => (float)v)];
        }

        // Half-precision similarities can order a near-tie the other way (another src merged, another partner), which moves a
        // few values more than fp16's rounding does: the mean follows torch's float32 closely, the worst value within 0.15.
        var half = Run(merged: true);
        var expected = Load("odd_wide_05.out_sample").Values;
        Assert.True(expected.Zip(half, (a, b) => Math.Abs(a - b)).Average() < 0.01, "fp16 ToMe follows torch's float32 on average");
        Assert.True(Reference.MaxDifference(expected, half) < 0.15, "fp16 ToMe's worst value stays near torch's float32");
        Assert.True(Reference.MaxDifference(Load("odd_wide_05.plain").Values, Run(merged: false)) < 0.05, "the fp16 graph off is the plain UNet");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static (float[] Values, long[] Shape) Load(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private UNetVariant Open(OnnxSessionCache cache, string checkpointFile, UNetExtraInputs extras)
    {
        using var checkpoint = Sd1Checkpoint.Open(checkpointFile);
        var path = Path.Combine(_scratch, $"{Path.GetFileNameWithoutExtension(checkpointFile)}-{(int)extras}.onnx");
        File.WriteAllBytes(path, checkpoint.BuildUNet(extras).ToBytes());
        return UNetVariant.Open(cache, new OnnxModelSource(path));
    }

    // Both rows in one call at the reference's timestep (500 each); a context of the SD 2.x width unless given.
    private static (float[] Values, long[] Shape) Predict(UNetVariant unet, (float[] Values, long[] Shape) sample, UNetVariantInputs inputs, int? contextWidth = null)
    {
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var hidden = Load("encoder_hidden_states");
        var values = contextWidth is { } width ? [.. hidden.Values.Take((int)(hidden.Shape[0] * hidden.Shape[1] * width))] : hidden.Values;
        var prediction = new float[shape.Length];
        unet.Predict(sample.Values, shape, Load("timestep").Values[0], values, (int)hidden.Shape[1], inputs, prediction, CancellationToken.None);
        return (prediction, sample.Shape);
    }
}
