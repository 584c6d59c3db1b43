using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Guidance;
using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The UNet graph's <c>sag_attention</c> output (<see cref="SelfAttentionMap"/>) and SAG's guided step
/// (<see cref="SelfAttentionGuidance"/> through <see cref="GuidancePatches"/>) against ComfyUI's SelfAttentionGuidance restated
/// in torch (tools/reference/make_sag.py) on make_pag.py's tiny SD 1.x UNet (8 heads, 6×4 middle tokens on a 12×8 latent,
/// half of the unconditional rows' tokens blurred), and the map on the tiny SDXL checkpoint (its middle transformer stacks
/// two blocks; the first is mapped). Tolerance 1e-4 on maps (values ~1) and estimates (values ~3); no rows (the default) is
/// the plain graph's prediction bit for bit.
/// </summary>
public sealed class SelfAttentionGuidanceReferenceTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "TestData", "sag");
    private readonly string _scratch = Directory.CreateTempSubdirectory("fd-sag-").FullName;

    [Fact]
    public void Sag_attention_of_the_unconditional_rows_is_ComfyUIs_map_in_torch()
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, UNetExtraInputs.SelfAttentionMap);
        var (prediction, map) = FirstCall(unet, [0, 1]);

        Assert.True(unet.MapsSelfAttention);
        Reference.AssertClose(Load("mass"), (map!, [2, 24]), Tolerance, "sag_attention of rows 0 and 1");
        Assert.Equal(FirstCall(unet, null).Prediction, prediction);
        // One row alone: the second row's map.
        Reference.AssertClose((Load("mass").Values[24..], [1, 24]), (FirstCall(unet, [1]).Map!, [1, 24]), Tolerance, "sag_attention of row 1");
    }

    [Fact]
    public void No_rows_is_the_plain_UNet_bit_for_bit_and_a_graph_without_the_map_refuses_rows()
    {
        using var cache = new OnnxSessionCache();
        var plainGraph = Open(cache, UNetExtraInputs.None);
        var every = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        var before = Open(cache, DiffusersOnnxFolder.EveryUNetGraph & ~UNetExtraInputs.SelfAttentionMap);
        var plain = FirstCall(plainGraph, null);

        Assert.Null(plain.Map);
        Assert.Equal(plain.Prediction, FirstCall(every, null).Prediction);
        Assert.Equal(plain.Prediction, FirstCall(every, []).Prediction);
        Assert.Equal(plain.Prediction, FirstCall(before, null).Prediction);
        Assert.False(before.MapsSelfAttention);
        Assert.Contains("returns no sag_attention", Assert.Throws<ArgumentException>(() => FirstCall(before, [0])).Message);
        Assert.Contains("outside the UNet call's 4", Assert.Throws<ArgumentException>(() => FirstCall(every, [4])).Message);
    }

    [Fact]
    public void A_guided_euler_step_with_sag_matches_ComfyUI_in_torch()
    {
        using var cache = new OnnxSessionCache();
        var unet = Open(cache, DiffusersOnnxFolder.EveryUNetGraph);
        var settings = Load("settings").Values;
        var (sigma, sigmaNext, cfg, sagScale, blur) = (settings[0], settings[1], settings[3], settings[4], settings[5]);
        var x = Load("x");
        var (prediction, map) = FirstCall(unet, [0, 1]);
        var patches = new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null) { SelfAttention = new SelfAttentionGuidance(sagScale, blur) };
        var half = prediction.Length / 2;
        var shape = new LatentShape(2, 4, 12, 8);
        var input = Scaled(x.Values, sigma);

        var step = patches.DegradeForSelfAttention(prediction.AsSpan(0, half), map, input, 2, 4, 4, 12, 8, sigma)!;
        Reference.AssertClose(Load("degraded"), ([.. step.Degraded.Select(v => (float)v)], x.Shape), Tolerance, "degraded unconditional estimate");
        var degradedPrediction = new float[half];
        unet.Predict(step.ModelInput, shape, settings[2], Load("negative").Values, 5, new UNetVariantInputs(), degradedPrediction, CancellationToken.None);
        var guided = new float[half];
        patches.Guide(prediction.AsSpan(half), prediction.AsSpan(0, half), cfg, input, 2, 4, 4, 96, sigma, guided, width: 8, degraded: step, degradedPrediction: degradedPrediction);

        // ε̂ gives the guided estimate x − σ·ε̂ and the euler step x + ε̂·(σ' − σ).
        Reference.AssertClose(Load("guided"), ([.. x.Values.Select((v, k) => v - (sigma * guided[k]))], x.Shape), Tolerance, "guided x0 estimate");
        Reference.AssertClose(Load("stepped"), ([.. x.Values.Select((v, k) => v + (guided[k] * (sigmaNext - sigma)))], x.Shape), Tolerance, "euler step");
        var plain = new float[half];
        new GuidancePatches(new ModelPrediction(PredictionKind.Epsilon, 1), 0, null, false, null).Guide(prediction.AsSpan(half), prediction.AsSpan(0, half), cfg, input, 2, 4, 4, 96, sigma, plain);
        Reference.AssertClose(Load("cfg_result"), ([.. x.Values.Select((v, k) => v - (sigma * plain[k]))], x.Shape), Tolerance, "CFG result without SAG");
        Assert.True(guided.Zip(plain, (a, b) => Math.Abs(a - b)).Max() > 0.01, "SAG must change the guided prediction");
    }

    [Fact]
    public void Sdxl_sag_attention_maps_the_first_block_of_the_middle_transformer()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var graph = checkpoint.BuildUNet(UNetExtraInputs.SelfAttentionMap).ToBytes();
        var rows = SdxlReference.Tensor("unet.sample").Shape[0];
        var outputs = Reference.Run(
            graph,
            ("sample", Reference.Floats(SdxlReference.Tensor("unet.sample"))),
            ("timestep", Reference.Floats(SdxlReference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(SdxlReference.Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(SdxlReference.Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(SdxlReference.Tensor("unet.time_ids"))),
            (SelfAttentionMap.RowsName, OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, (int)rows).Select(r => (long)r).ToArray(), [rows])));

        Reference.AssertClose(Load("sdxl.mass"), outputs[SelfAttentionMap.OutputName], Tolerance, "SDXL sag_attention");
        Reference.AssertClose(SdxlReference.Tensor("unet.out_sample"), outputs["out_sample"], Tolerance, "SDXL out_sample beside the map");
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static float[] Scaled(float[] x, float sigma) => [.. x.Select(v => (float)(v / Math.Sqrt((sigma * sigma) + 1)))];

    // [negative; positive] for both latents at the reference's sigma, the rows asked mapped.
    private static (float[] Prediction, float[]? Map) FirstCall(UNetVariant unet, int[]? rows)
    {
        var settings = Load("settings").Values;
        var x = Load("x").Values;
        var sample = Scaled([.. x, .. x], settings[0]);
        var hidden = (float[])[.. Load("negative").Values, .. Load("positive").Values];
        var prediction = new float[sample.Length];
        var map = unet.Predict(sample, new LatentShape(4, 4, 12, 8), settings[2], hidden, 5, new UNetVariantInputs(SagRows: rows), prediction, CancellationToken.None);
        return (prediction, map);
    }

    private static (float[] Values, long[] Shape) Load(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private UNetVariant Open(OnnxSessionCache cache, UNetExtraInputs extras)
    {
        using var checkpoint = Sd1Checkpoint.Open(Path.Combine(AppContext.BaseDirectory, "TestData", "pag", "ldm-unet.safetensors"));
        var path = Path.Combine(_scratch, $"unet-{(int)extras}.onnx");
        File.WriteAllBytes(path, checkpoint.BuildUNet(extras).ToBytes());
        return UNetVariant.Open(cache, new OnnxModelSource(path));
    }
}
