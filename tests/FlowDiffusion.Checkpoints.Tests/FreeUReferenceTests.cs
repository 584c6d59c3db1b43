using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph with FreeU's inputs (<see cref="UNetExtraInputs.FreeU"/>) against ComfyUI's FreeU and FreeU_V2 in torch
/// (tools/reference/make_freeu.py: torch.fft's filter on a three-level UNet whose decoder meets both patched widths).
/// Tolerance 1e-4 on predictions of magnitude ~1 (float32 FFT against our cos/sin matrix products); the patch alone 1e-5.
/// </summary>
public sealed class FreeUReferenceTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "freeu");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-freeu-").FullName;

    [Theory]
    [InlineData("v1", "sample")]
    [InlineData("v2", "sample")]
    [InlineData("v2_far", "sample")]
    [InlineData("v1_small", "small")]
    public void FreeU_graph_matches_ComfyUI_FreeU_in_torch(string name, string sampleName)
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, UNetExtraInputs.FreeU);
        var p = Load(name + ".params").Values;
        var factors = new FreeUFactors((int)p[4], p[0], p[1], p[2], p[3]);

        Assert.True(unet.TakesFreeU);
        var actual = Predict(unet, sampleName, new UNetVariantInputs(FreeU: factors));
        Reference.AssertClose(Load(name), actual, Tolerance, $"FreeU {name} out_sample");
        Assert.True(Reference.MaxDifference(Load(name).Values, Predict(unet, sampleName, new UNetVariantInputs()).Values) > 0.05, "FreeU must change the prediction");
    }

    [Fact]
    public void FreeU_graph_at_its_defaults_and_at_ones_is_the_plain_UNet()
    {
        using var cache = new OnnxSessionCache();
        var plain = Predict(Open(cache, UNetExtraInputs.None), "sample", new UNetVariantInputs());
        var freeU = Open(cache, UNetExtraInputs.FreeU);

        Reference.AssertClose(Load("plain"), plain, Tolerance, "plain out_sample");
        Assert.Equal(plain.Values, Predict(freeU, "sample", new UNetVariantInputs()).Values);
        Assert.Equal(plain.Values, Predict(freeU, "sample", new UNetVariantInputs(FreeU: new FreeUFactors(1, 1, 1, 1, 1))).Values);
    }

    [Theory]
    [InlineData("3x5", 1)]
    [InlineData("3x5", 2)]
    [InlineData("1x4", 1)]
    [InlineData("1x4", 2)]
    [InlineData("5x1", 1)]
    [InlineData("5x1", 2)]
    [InlineData("1x1", 1)]
    [InlineData("2x7", 1)]
    [InlineData("2x7", 2)]
    public void Patch_matches_torch_fft_at_odd_and_single_pixel_sizes(string size, int version)
    {
        // b1 = 1.3, s1 = 0.6 on h of 4 × 32 channels (b2 = s2 = 1).
        var h = Load($"patch.{size}.h");
        var skip = Load($"patch.{size}.skip");
        var model = FreeUPatch.BuildStandalone(32, (int)h.Shape[1], (int)skip.Shape[1]).ToBytes();
        var outputs = Reference.Run(
            model,
            ("h", Reference.Floats(h)),
            ("skip", Reference.Floats(skip)),
            ("freeu_b1", Reference.Floats(([1.3f], [1]))),
            ("freeu_s1", Reference.Floats(([0.6f], [1]))),
            ("freeu_version", Reference.Floats(([version], [1]))));

        Reference.AssertClose(Load($"patch.{size}.v{version}.h"), outputs["h_out"], 1e-5, $"patched h at {size}");
        Reference.AssertClose(Load($"patch.{size}.v{version}.skip"), outputs["skip_out"], 1e-5, $"filtered skip at {size}");
    }

    [Fact]
    public void Graph_names_are_the_runtime_names_and_a_graph_without_them_refuses_factors()
    {
        using var cache = new OnnxSessionCache();
        var plain = Open(cache, UNetExtraInputs.None);
        var factors = new FreeUFactors(1, 1.1f, 1.2f, 0.9f, 0.2f);

        Assert.Equal(FreeUFactors.FactorInputs, FreeUPatch.FactorNames);
        Assert.Equal(FreeUFactors.VersionInput, FreeUPatch.VersionName);
        Assert.False(plain.TakesFreeU);
        Assert.Contains("takes no FreeU", Assert.Throws<ArgumentException>(() => Predict(plain, "sample", new UNetVariantInputs(FreeU: factors))).Message);
        var freeU = Open(cache, UNetExtraInputs.FreeU);
        Assert.Contains("version must be 1 or 2", Assert.Throws<ArgumentException>(() => Predict(freeU, "sample", new UNetVariantInputs(FreeU: factors with { Version = 3 }))).Message);
    }

    [Fact]
    public void Sdxl_FreeU_graph_is_the_plain_UNet_at_its_defaults_and_changes_it_with_factors()
    {
        // SDXL's UNet goes through the same builder; the tiny one (model_channels 32, widths 64/32) meets b2, s2 once.
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var freeU = checkpoint.BuildUNet(UNetExtraInputs.FreeU).ToBytes();
        var atDefaults = SdxlReference.RunUNet(freeU);
        var patched = SdxlReference.RunUNet(freeU, ("freeu_b2", Reference.Floats(([1.4f], [1]))), ("freeu_s2", Reference.Floats(([0.2f], [1]))), ("freeu_version", Reference.Floats(([2f], [1]))));

        Reference.AssertClose(SdxlReference.Tensor("unet.out_sample"), atDefaults, Tolerance, "SDXL FreeU graph at its defaults");
        Assert.Equal(SdxlReference.RunUNet(checkpoint.BuildUNet().ToBytes()).Values, atDefaults.Values);
        Assert.All(patched.Values, v => Assert.True(float.IsFinite(v)));
        Assert.True(Reference.MaxDifference(atDefaults.Values, patched.Values) > 0.01, "FreeU must change the SDXL prediction");
    }

    [Fact]
    public void Fp16_export_of_the_FreeU_graph_takes_float16_factors_and_matches_torch_within_half_precision()
    {
        // Float16Model makes every float input float16, FreeU's optional ones included; the filter's cos/sin matrices come
        // from a float32 Range and must take the skip's type (CastLike), or ONNX Runtime refuses MatMul(float, float16).
        using var checkpoint = Sd1Checkpoint.Open(Path.Combine(Folder, "ldm-unet.safetensors"));
        var model = Float16Model.Convert(checkpoint.BuildUNet(UNetExtraInputs.FreeU));
        Assert.All(model.Graph.Inputs.Where(i => i.Name.StartsWith("freeu_", StringComparison.Ordinal)), i => Assert.Equal(Onnx.Proto.TensorElementType.Float16, i.ElementType));
        Assert.All(model.Graph.Initializers.Where(t => t.Name.StartsWith("freeu_", StringComparison.Ordinal)), t => Assert.Equal(Onnx.Proto.TensorElementType.Float16, t.ElementType));

        var sample = Load("sample");
        var hidden = Load("encoder_hidden_states");
        var p = Load("v1.params").Values;
        using var session = new InferenceSession(model.ToBytes());
        float[] Run(bool freeU)
        {
            // Row 0 alone (timestep 999): the reference's rows have timesteps of their own.
            var row = (int)(sample.Shape[1] * sample.Shape[2] * sample.Shape[3]);
            var tokens = (int)(hidden.Shape[1] * hidden.Shape[2]);
            var inputs = new List<NamedOnnxValue>
            {
                Reference.Half("sample", sample.Values[..row], [1, .. sample.Shape[1..]]),
                Reference.Half("timestep", [Load("timestep").Values[0]], [1]),
                Reference.Half("encoder_hidden_states", hidden.Values[..tokens], [1, .. hidden.Shape[1..]]),
            };
            if (freeU)
            {
                inputs.AddRange(FreeUFactors.FactorInputs.Select((name, i) => Reference.Half(name, [p[i]], [1])));
                inputs.Add(Reference.Half(FreeUFactors.VersionInput, [p[4]], [1]));
            }

            using var results = session.Run(inputs);
            return [.. results[0].AsTensor<Float16>().Select(v => (float)v)];
        }

        var expected = Load("v1").Values[..(int)(sample.Shape[1] * sample.Shape[2] * sample.Shape[3])];
        var patched = Run(freeU: true);
        var difference = Reference.MaxDifference(expected, patched);
        // 0.05: the fp16 plain UNet is itself 0.03 from torch's float32 (outputs up to 1.7); FreeU moves row 0 by 0.32.
        Assert.True(difference < 0.05, $"fp16 FreeU differs from torch by {difference}");
        Assert.True(Reference.MaxDifference(Load("plain").Values[..expected.Length], Run(freeU: false)) < 0.05, "the fp16 graph at its defaults is the plain UNet");
        Assert.True(Reference.MaxDifference(expected, Run(freeU: false)) > 0.25, "the fp16 graph at its defaults must be far from FreeU's");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static (float[] Values, long[] Shape) Load(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private UNetVariant Open(OnnxSessionCache cache, UNetExtraInputs extras)
    {
        using var checkpoint = Sd1Checkpoint.Open(Path.Combine(Folder, "ldm-unet.safetensors"));
        var path = Path.Combine(_scratch, $"unet-{extras}.onnx");
        File.WriteAllBytes(path, checkpoint.BuildUNet(extras).ToBytes());
        return UNetVariant.Open(cache, new OnnxModelSource(path));
    }

    private static (float[] Values, long[] Shape) Predict(UNetVariant unet, string sampleName, UNetVariantInputs inputs)
    {
        var sample = Load(sampleName);
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var hidden = Load("encoder_hidden_states");
        var tokens = (int)hidden.Shape[1];
        var rowLength = tokens * (int)hidden.Shape[2];
        var timestep = Load("timestep").Values;
        // The reference calls the UNet with per-row timesteps (999, 17); one call per row gives each its own.
        var prediction = new float[shape.Length];
        var row = shape with { Batch = 1 };
        for (var b = 0; b < shape.Batch; b++)
        {
            var x = sample.Values.AsSpan(b * row.Length, row.Length).ToArray();
            var context = hidden.Values.AsSpan(b * rowLength, rowLength).ToArray();
            unet.Predict(x, row, timestep[b], context, tokens, inputs, prediction.AsSpan(b * row.Length, row.Length), CancellationToken.None);
        }

        return (prediction, sample.Shape);
    }
}
