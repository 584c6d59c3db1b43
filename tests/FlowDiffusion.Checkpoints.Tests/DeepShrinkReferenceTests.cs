using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph with Deep Shrink's inputs (<see cref="UNetExtraInputs.DeepShrink"/>) against ComfyUI's
/// PatchModelAddDownscale in torch (tools/reference/make_deep_shrink.py) on the tiny SD 1.x and SDXL checkpoints, at odd
/// latent sizes, with every method (area: adaptive average pooling; bislerp: ComfyUI's comfy.utils.bislerp). Tolerance
/// 1e-4 on predictions of magnitude ~1 (float32 against torch); the resize alone 1e-5 (bislerp 5e-5: float32 acos near parallel pairs), bislerp by hand 1e-6.
/// </summary>
public sealed class DeepShrinkReferenceTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "deep-shrink");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-deep-shrink-").FullName;

    [Theory]
    [InlineData("defaults_block1", 1, 2.0, true, "bicubic", "bicubic")]
    [InlineData("block2_bilinear_nearest", 2, 1.5, true, "bilinear", "nearest-exact")]
    [InlineData("block1_before_skip", 1, 2.0, false, "nearest-exact", "bilinear")]
    [InlineData("block3_odd", 3, 1.7, true, "bicubic", "bilinear")]
    [InlineData("block2_before_skip_bicubic", 2, 2.5, false, "bicubic", "bicubic")]
    [InlineData("block2_ties", 2, 2.0, true, "bilinear", "bicubic")]
    [InlineData("block1_area", 1, 2.0, true, "area", "area")]
    [InlineData("block2_area_odd", 2, 1.5, false, "area", "bilinear")]
    [InlineData("block1_bislerp", 1, 2.0, true, "bislerp", "bislerp")]
    [InlineData("block2_bislerp_odd", 2, 1.7, false, "bislerp", "area")]
    public void Deep_Shrink_graph_matches_ComfyUI_PatchModelAddDownscale_in_torch(string name, int block, double factor, bool afterSkip, string down, string up)
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        var shrink = new DeepShrink(block, factor, afterSkip, down, up);
        var p = Load(name + ".params").Values;
        Assert.Equal([block, (float)factor, afterSkip ? 1 : 0, .. shrink.MethodIndices.Select(i => (float)i)], p);

        Assert.True(unet.TakesDeepShrink);
        var actual = Predict(unet, new UNetVariantInputs(DeepShrink: shrink));
        Reference.AssertClose(Load(name + ".out_sample"), actual, Tolerance, $"Deep Shrink {name} out_sample");
        Assert.True(Reference.MaxDifference(Load(name + ".out_sample").Values, Load("plain.out_sample").Values) > 0.5, "the case must be far from the plain UNet");
    }

    [Fact]
    public void Deep_Shrink_graph_off_and_at_a_block_the_UNet_lacks_is_the_plain_UNet_bit_for_bit()
    {
        using var cache = new OnnxSessionCache();
        var plain = Predict(Open(cache, UNetExtraInputs.None), new UNetVariantInputs());
        var every = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);

        Reference.AssertClose(Load("plain.out_sample"), plain, Tolerance, "plain out_sample");
        Assert.Equal(plain.Values, Predict(every, new UNetVariantInputs()).Values);
        // The tiny UNet has input blocks 0 … 3; ComfyUI's patch never matches block 4, nor does the graph.
        Assert.Equal(plain.Values, Predict(every, new UNetVariantInputs(DeepShrink: new DeepShrink(4, 2, true, "bicubic", "bicubic"))).Values);
    }

    [Theory]
    [InlineData("bicubic")]
    [InlineData("nearest-exact")]
    [InlineData("bilinear")]
    [InlineData("area")]
    [InlineData("bislerp")]
    public void Resize_matches_torch_interpolate_at_odd_sizes(string method)
    {
        var model = DeepShrinkPatch.BuildStandalone().ToBytes();
        var index = DeepShrinkPatch.Methods.ToList().IndexOf(method);
        foreach (var (input, size) in new[] { ("x", "4x5"), ("x", "11x13"), ("x", "3x9"), ("x", "1x2"), ("y", "8x8") })
        {
            var hw = size.Split('x').Select(long.Parse).ToArray();
            var outputs = Reference.Run(
                model,
                ("x", Reference.Floats(Load("resize." + input))),
                ("size", OrtValue.CreateTensorValueFromMemory(hw, [2])),
                ("method", OrtValue.CreateTensorValueFromMemory(new long[] { index }, [1])));
            // bislerp's acos has slope 1/√(1 − dot²): on y's 2-channel pairs near parallel torch's own float32 result is 1.7e-5
            // from float64's, so bislerp is held to 5e-5.
            Reference.AssertClose(Load($"resize.{input}.{method}.{size}"), outputs["y"], method == "bislerp" ? 5e-5 : 1e-5, $"{method} resize of {input} to {size}");
        }
    }

    [Fact]
    public void Bislerp_widens_a_right_angle_an_opposite_pair_and_a_zero_vector_to_their_closed_forms()
    {
        // [1, 2, 3, 2] → 3 × 3: the middle column's source is (1 + ½)·2/3 − ½ = ½ between the two columns; per row the
        // pixels (1, 0) → (0, 2) slerp to sin(π/4)·((1, 0) + (0, 1)) · 1.5 (the mean length), (1, 0) → (−3, 0) are opposite
        // and lerp to (−1, 0), and (0, 0) → (0, 2) gives sin(π/4)·(0, 1) · 1; the outer columns keep their pixels.
        float[] x = [1, 0, 1, -3, 0, 0, 0, 2, 0, 0, 0, 2];
        var outputs = Reference.Run(
            DeepShrinkPatch.BuildStandalone().ToBytes(),
            ("x", OrtValue.CreateTensorValueFromMemory(x, [1, 2, 3, 2])),
            ("size", OrtValue.CreateTensorValueFromMemory(new long[] { 3, 3 }, [2])),
            ("method", OrtValue.CreateTensorValueFromMemory(new long[] { DeepShrinkPatch.Methods.ToList().IndexOf("bislerp") }, [1])));
        var h = Math.Sqrt(0.5);
        double[] expected = [1, 1.5 * h, 0, 1, -1, -3, 0, 0, 0, 0, 1.5 * h, 2, 0, 0, 0, 0, h, 2];
        Assert.Equal([1, 2, 3, 3], outputs["y"].Shape);
        Assert.All(expected.Select((e, i) => Math.Abs(e - outputs["y"].Values[i])), d => Assert.True(d < 1e-6, $"off by {d}"));
        Reference.AssertClose(Load("bislerp.hand.y"), outputs["y"], 1e-6, "bislerp by hand");
    }

    [Fact]
    public void Graph_names_are_the_runtime_names_and_bad_settings_are_refused_by_name()
    {
        using var cache = new OnnxSessionCache();
        Assert.Equal(DeepShrink.Methods, DeepShrinkPatch.Methods);
        Assert.Equal(
            [DeepShrinkPatch.BlockName, DeepShrinkPatch.ScaleName, DeepShrinkPatch.AfterSkipName, DeepShrinkPatch.MethodsName],
            DeepShrink.Inputs);

        var plain = Open(cache, UNetExtraInputs.None);
        var shrink = new DeepShrink(1, 2, true, "bicubic", "bicubic");
        Assert.False(plain.TakesDeepShrink);
        Assert.Contains("builder version 11", Assert.Throws<ArgumentException>(() => Predict(plain, new UNetVariantInputs(DeepShrink: shrink))).Message);
        var every = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        Assert.Contains("downscale_method 'lanczos' is not supported", Assert.Throws<ArgumentException>(() => Predict(every, new UNetVariantInputs(DeepShrink: shrink with { DownscaleMethod = "lanczos" }))).Message);
        Assert.Contains("upscale_method 'bislerp_alt'", Assert.Throws<ArgumentException>(() => Predict(every, new UNetVariantInputs(DeepShrink: shrink with { UpscaleMethod = "bislerp_alt" }))).Message);
        Assert.Contains("block_number", Assert.Throws<ArgumentException>(() => Predict(every, new UNetVariantInputs(DeepShrink: shrink with { Block = 0 }))).Message);
    }

    [Fact]
    public void Sdxl_Deep_Shrink_graph_matches_torch_and_is_the_plain_UNet_when_off()
    {
        // SDXL's UNet goes through the same builder: input blocks 0 conv_in, 1 res, 2 downsampler, 3 and the transformers.
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var every = checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph).ToBytes();
        var off = SdxlReference.RunUNet(every);
        var shrunk = SdxlReference.RunUNet(every, Inputs(new DeepShrink(2, 2.0, true, "bicubic", "bicubic")));

        Assert.Equal(SdxlReference.RunUNet(checkpoint.BuildUNet().ToBytes()).Values, off.Values);
        Reference.AssertClose(Load("sdxl.out_sample"), shrunk, Tolerance, "SDXL Deep Shrink out_sample");
        Assert.True(Reference.MaxDifference(off.Values, shrunk.Values) > 0.1, "Deep Shrink must change the SDXL prediction");
    }

    [Theory]
    [InlineData("sdxl_area_bislerp", 1, 2.0, true, "bislerp", "area")]
    [InlineData("sdxl_bislerp_area", 2, 1.5, false, "area", "bislerp")]
    public void Sdxl_area_and_bislerp_match_torch(string name, int block, double factor, bool afterSkip, string down, string up)
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var every = checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph).ToBytes();
        var shrunk = SdxlReference.RunUNet(every, Inputs(new DeepShrink(block, factor, afterSkip, down, up)));
        Reference.AssertClose(Load(name + ".out_sample"), shrunk, Tolerance, $"SDXL Deep Shrink {name} out_sample");
        Assert.True(Reference.MaxDifference(SdxlReference.RunUNet(every).Values, shrunk.Values) > 0.1, "Deep Shrink must change the SDXL prediction");
    }

    [Fact]
    public void Fp16_export_of_the_Deep_Shrink_graph_keeps_its_inputs_and_shrinks_in_half_precision_by_every_method()
    {
        // Float16Model makes float inputs float16; Deep Shrink's are int64 and float64 and stay, and the If branches' outputs
        // take the backbone's type (inferred), so the fp16 graph runs and follows the float32 one.
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var model = Float16Model.Convert(checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph));
        Assert.Contains(model.Graph.Inputs, i => i.Name == DeepShrink.ScaleInput && i.ElementType == Onnx.Proto.TensorElementType.Double);

        var sample = Load("sample");
        var hidden = Load("encoder_hidden_states");
        var row = (int)(sample.Shape[1] * sample.Shape[2] * sample.Shape[3]);
        using var session = new InferenceSession(model.ToBytes());
        float[] Run(bool shrink, long[]? methods = null)
        {
            var inputs = new List<NamedOnnxValue>
            {
                Reference.Half("sample", sample.Values[..row], [1, .. sample.Shape[1..]]),
                Reference.Half("timestep", [Load("timestep").Values[0]], [1]),
                Reference.Half("encoder_hidden_states", hidden.Values[..(int)(hidden.Shape[1] * hidden.Shape[2])], [1, .. hidden.Shape[1..]]),
            };
            if (shrink)
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor(DeepShrink.BlockInput, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 1 }, [1])));
                inputs.Add(NamedOnnxValue.CreateFromTensor(DeepShrink.ScaleInput, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<double>(new[] { 0.5 }, [1])));
                if (methods is not null) inputs.Add(NamedOnnxValue.CreateFromTensor(DeepShrink.MethodsInput, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(methods, [2])));
            }

            using var results = session.Run(inputs);
            return [.. results[0].AsTensor<Float16>().Select(v => (float)v)];
        }

        var expected = Load("defaults_block1.out_sample").Values[..row];
        Assert.True(Reference.MaxDifference(expected, Run(shrink: true)) < 0.05, "fp16 Deep Shrink follows torch's float32");
        Assert.True(Reference.MaxDifference(Load("plain.out_sample").Values[..row], Run(shrink: false)) < 0.05, "the fp16 graph off is the plain UNet");
        // area and bislerp compute in float32 inside their branch (their constants stay float32) and cast back to float16.
        var bislerp = new DeepShrink(1, 2, true, "bislerp", "bislerp");
        Assert.True(Reference.MaxDifference(Load("block1_bislerp.out_sample").Values[..row], Run(shrink: true, bislerp.MethodIndices)) < 0.05, "fp16 bislerp follows torch's float32");
        Assert.True(Reference.MaxDifference(Load("block1_area.out_sample").Values[..row], Run(shrink: true, (bislerp with { DownscaleMethod = "area", UpscaleMethod = "area" }).MethodIndices)) < 0.05, "fp16 area follows torch's float32");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static (string, OrtValue)[] Inputs(DeepShrink shrink) =>
    [
        (DeepShrink.BlockInput, OrtValue.CreateTensorValueFromMemory(new long[] { shrink.Block }, [1])),
        (DeepShrink.ScaleInput, OrtValue.CreateTensorValueFromMemory(new[] { 1.0 / shrink.Factor }, [1])),
        (DeepShrink.AfterSkipInput, OrtValue.CreateTensorValueFromMemory(new long[] { shrink.AfterSkip ? 1 : 0 }, [1])),
        (DeepShrink.MethodsInput, OrtValue.CreateTensorValueFromMemory(shrink.MethodIndices, [2])),
    ];

    private static (float[] Values, long[] Shape) Load(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private UNetVariant Open(OnnxSessionCache cache, UNetExtraInputs extras)
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var path = Path.Combine(_scratch, $"unet-{(int)extras}.onnx");
        File.WriteAllBytes(path, checkpoint.BuildUNet(extras).ToBytes());
        return UNetVariant.Open(cache, new OnnxModelSource(path));
    }

    // One call per row: the reference's rows have timesteps of their own (999, 17).
    private static (float[] Values, long[] Shape) Predict(UNetVariant unet, UNetVariantInputs inputs)
    {
        var sample = Load("sample");
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var hidden = Load("encoder_hidden_states");
        var tokens = (int)hidden.Shape[1];
        var rowLength = tokens * (int)hidden.Shape[2];
        var timestep = Load("timestep").Values;
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
