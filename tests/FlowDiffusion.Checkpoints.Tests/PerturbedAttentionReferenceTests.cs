using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph's <c>pag_mask</c> input (<see cref="PerturbedAttention"/>) against ComfyUI's PerturbedAttentionGuidance
/// patch in torch (tools/reference/make_pag.py: every middle-block self-attention computed as to_out(to_v(x))), on a tiny
/// SD 1.x UNet and on the tiny SDXL checkpoint, whose middle transformer stacks two blocks. Tolerance 1e-4 on predictions
/// of magnitude ~1; mask 0 (or none) is the plain graph bit for bit.
/// </summary>
public sealed class PerturbedAttentionReferenceTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "pag");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-pag-").FullName;

    [Fact]
    public void Pag_mask_one_replaces_the_middle_self_attention_by_its_values_as_ComfyUI_PAG_does_in_torch()
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, UNetExtraInputs.PerturbedAttention);
        var plain = Load("plain");
        var perturbed = Load("perturbed");

        Assert.True(unet.TakesPagMask);
        Reference.AssertClose(plain, Predict(unet, null), Tolerance, "plain out_sample");
        Reference.AssertClose(perturbed, Predict(unet, [1f, 1f]), Tolerance, "perturbed out_sample");
        Assert.True(Reference.MaxDifference(plain.Values, perturbed.Values) > 0.1, "PAG's perturbation must change the prediction");

        // Row by row: the unperturbed row of a mixed batch is the plain one, the perturbed row the reference's.
        var mixed = Predict(unet, [0f, 1f]);
        var half = mixed.Values.Length / 2;
        long[] row = [1, .. plain.Shape[1..]];
        Reference.AssertClose((plain.Values[..half], row), (mixed.Values[..half], row), Tolerance, "row 0 with mask 0");
        Reference.AssertClose((perturbed.Values[half..], row), (mixed.Values[half..], row), Tolerance, "row 1 with mask 1");
    }

    [Fact]
    public void Pag_mask_zero_or_none_is_the_plain_UNet_bit_for_bit_and_a_graph_without_it_refuses_a_mask()
    {
        using var cache = new OnnxSessionCache();
        var plainGraph = Open(cache, UNetExtraInputs.None);
        var pag = Open(cache, UNetExtraInputs.PerturbedAttention);
        var plain = Predict(plainGraph, null).Values;

        Assert.Equal(PerturbedAttention.MaskName, UNetVariant.PagMaskInput);
        Assert.Equal(plain, Predict(pag, null).Values);
        Assert.Equal(plain, Predict(pag, [0f, 0f]).Values);
        Assert.False(plainGraph.TakesPagMask);
        Assert.Contains("takes no pag_mask", Assert.Throws<ArgumentException>(() => Predict(plainGraph, [1f, 1f])).Message);
        Assert.Contains("pag_mask holds 1 values", Assert.Throws<ArgumentException>(() => Predict(pag, [1f])).Message);
    }

    [Fact]
    public void Sdxl_pag_mask_replaces_the_self_attention_of_every_middle_transformer_block()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var pag = checkpoint.BuildUNet(UNetExtraInputs.PerturbedAttention).ToBytes();
        var batch = (int)SdxlReference.Tensor("unet.sample").Shape[0];
        var ones = Enumerable.Repeat(1f, batch).ToArray();

        Reference.AssertClose(SdxlReference.Tensor("unet.out_sample"), SdxlReference.RunUNet(pag), Tolerance, "SDXL PAG graph without a mask");
        Assert.Equal(SdxlReference.RunUNet(checkpoint.BuildUNet().ToBytes()).Values, SdxlReference.RunUNet(pag).Values);
        Reference.AssertClose(Load("sdxl.perturbed"), SdxlReference.RunUNet(pag, (PerturbedAttention.MaskName, Reference.Floats((ones, [batch])))), Tolerance, "SDXL PAG graph at mask 1");
    }

    [Fact]
    public void Exported_folders_take_the_mask_in_every_UNet_graph_and_the_fp16_export_runs_it_through_UNet()
    {
        var tokenizer = Path.Combine(_scratch, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        File.WriteAllText(Path.Combine(tokenizer, "vocab.json"), "{}");
        File.WriteAllText(Path.Combine(tokenizer, "merges.txt"), "#version: 0.2\n");
        using (var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile))
        {
            Export.DiffusersOnnxFolder.Write(checkpoint, Path.Combine(_scratch, "fp32"), tokenizer);
            Export.DiffusersOnnxFolder.Write(checkpoint, Path.Combine(_scratch, "fp16"), tokenizer, float16: true);
        }

        using var cache = new OnnxSessionCache();
        foreach (var file in new[] { "controlled.onnx", "ipadapter.onnx", "ipadapter-controlled.onnx" })
        {
            Assert.True(UNetVariant.Open(cache, new OnnxModelSource(Path.Combine(_scratch, "fp32", "unet", file))).TakesPagMask, file);
        }

        var fp32 = UNet.Open(cache, Path.Combine(_scratch, "fp32", "unet", "model.onnx"));
        var fp16 = UNet.Open(cache, Path.Combine(_scratch, "fp16", "unet", "model.onnx"));
        Assert.True(fp32.TakesPagMask);
        Assert.True(fp16.TakesPagMask);
        float[] mask = [0f, 1f];
        var plain32 = PredictTiny(fp32, []);
        var perturbed32 = PredictTiny(fp32, mask);
        var perturbed16 = PredictTiny(fp16, mask);

        Reference.AssertClose(Reference.Tensor("unet.out_sample"), (plain32, Reference.Tensor("unet.out_sample").Shape), Tolerance, "the exported UNet without a mask");
        var half = plain32.Length / 2;
        Assert.Equal(plain32[..half], perturbed32[..half]);
        Assert.True(Reference.MaxDifference(plain32[half..], perturbed32[half..]) > 0.01, "the masked row must change");
        Assert.True(Reference.MaxDifference(perturbed32, perturbed16) < 0.02, $"fp16 export (upcast on the CPU) off by {Reference.MaxDifference(perturbed32, perturbed16)}");

        // As a GPU runs it: the fp16 graph itself, every input float16, the mask included.
        var raw = RunHalf(Path.Combine(_scratch, "fp16", "unet", "model.onnx"), mask);
        Assert.True(Reference.MaxDifference(perturbed32, raw) < 0.05, $"fp16 export in float16 off by {Reference.MaxDifference(perturbed32, raw)}");
    }

    private static float[] RunHalf(string model, float[] mask)
    {
        static OrtValue Half((float[] Values, long[] Shape) t) => OrtValue.CreateTensorValueFromMemory(t.Values.Select(v => (Float16)v).ToArray(), t.Shape);
        using var session = new InferenceSession(model);
        var inputs = new[]
        {
            ("sample", Half(Reference.Tensor("unet.sample"))),
            ("timestep", Half(Reference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Half(Reference.Tensor("unet.encoder_hidden_states"))),
            (PerturbedAttention.MaskName, Half((mask, [mask.Length]))),
        };
        try
        {
            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Item1).ToArray(), inputs.Select(i => i.Item2).ToArray(), ["out_sample"]);
            return [.. results[0].GetTensorDataAsSpan<Float16>().ToArray().Select(v => (float)v)];
        }
        finally
        {
            foreach (var (_, value) in inputs) value.Dispose();
        }
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static float[] PredictTiny(UNet unet, float[] mask)
    {
        var sample = Reference.Tensor("unet.sample");
        var hidden = Reference.Tensor("unet.encoder_hidden_states");
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var prediction = new float[shape.Length];
        unet.Predict(sample.Values, shape, Reference.Tensor("unet.timestep").Values, hidden.Values, (int)hidden.Shape[1], [], [], [], mask, prediction);
        return prediction;
    }

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

    // One call over both rows (the reference gives them the same timestep).
    private static (float[] Values, long[] Shape) Predict(UNetVariant unet, float[]? mask)
    {
        var sample = Load("sample");
        var shape = new LatentShape((int)sample.Shape[0], (int)sample.Shape[1], (int)sample.Shape[2], (int)sample.Shape[3]);
        var hidden = Load("encoder_hidden_states");
        var prediction = new float[shape.Length];
        unet.Predict(sample.Values, shape, Load("timestep").Values[0], hidden.Values, (int)hidden.Shape[1], new UNetVariantInputs(PagMask: mask), prediction, CancellationToken.None);
        return (prediction, sample.Shape);
    }
}
