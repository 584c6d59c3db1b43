using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The tiny SDXL ControlNet (tools/reference/make_sdxl_controlnet.py: diffusers layout with add_embedding, and the same
/// weights under control_model.*) and the controlled SDXL UNet against the torch reference, on ONNX Runtime's CPU provider.
/// </summary>
public sealed class SdxlControlNetReferenceTests
{
    private static string Folder => Path.Combine(SdxlReference.Folder, "controlnet");

    public static TheoryData<string> Layouts => new() { "diffusers", "ldm" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Sdxl_ControlNet_residuals_match_torch(string layout)
    {
        using var controlnet = Open(layout);
        Assert.Equal(layout, controlnet.Layout);
        var outputs = RunControlNet(controlnet, "controlnet_cond");
        var names = ControlResiduals.Names(controlnet.Architecture.Encoder);
        Assert.Equal(5, names.Count);
        Assert.Equal(names.Order(), outputs.Keys.Order());
        foreach (var name in names)
        {
            Reference.AssertClose(Tensor(name), outputs[name], 1e-4, name);
        }
    }

    [Fact]
    public void Sdxl_architecture_is_read_from_the_diffusers_keys()
    {
        using var controlnet = Open("diffusers");
        var arch = controlnet.Architecture;
        Assert.True(arch.IsSdxl);
        Assert.Equal([64, 32], arch.Encoder.LevelChannels);
        Assert.Equal([0, 2], arch.Encoder.TransformerDepths);
        Assert.Equal(2, arch.Encoder.MiddleTransformerDepth);
        Assert.Equal([false, true], arch.Encoder.AttentionLevels);
        Assert.Equal(64, arch.Encoder.ContextWidth);
        Assert.Equal(40, arch.Encoder.PooledWidth);
        Assert.Equal(64, arch.Encoder.HeadWidth);
        Assert.Equal(8, arch.HintDownscale);
        using var session = new InferenceSession(controlnet.BuildGraph().ToBytes());
        Assert.Equal(["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "controlnet_cond"], session.InputNames);
    }

    [Fact]
    public void Controlled_Sdxl_UNet_with_the_residuals_matches_torch_and_zeros_give_the_plain_prediction()
    {
        using var controlnet = Open("diffusers");
        var residuals = RunControlNet(controlnet, "controlnet_cond");
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var unet = checkpoint.BuildControlledUNet().ToBytes();
        var controlled = RunUNet(unet, residuals);
        Reference.AssertClose(Tensor("unet.controlled"), controlled, 1e-4, "controlled out_sample");
        var plain = Tensor("unet.out_sample");
        Assert.True(plain.Values.Zip(controlled.Values).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "the residuals must change the prediction");
        var zeros = residuals.ToDictionary(p => p.Key, p => (new float[p.Value.Values.Length], p.Value.Shape));
        Reference.AssertClose(plain, RunUNet(unet, zeros), 1e-4, "out_sample with zero residuals");
    }

    [Fact]
    public void Stacked_Sdxl_ControlNets_add_their_scaled_residuals()
    {
        using var controlnet = Open("ldm");
        var a = RunControlNet(controlnet, "controlnet_cond");
        var b = RunControlNet(controlnet, "controlnet_cond_b");
        var sum = a.ToDictionary(p => p.Key, p => (p.Value.Values.Select((v, i) => (0.7f * v) + (0.4f * b[p.Key].Values[i])).ToArray(), p.Value.Shape));
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        Reference.AssertClose(Tensor("unet.stacked"), RunUNet(checkpoint.BuildControlledUNet().ToBytes(), sum), 1e-4, "stacked out_sample");
    }

    private static ControlNetCheckpoint Open(string layout) =>
        ControlNetCheckpoint.Open(layout == "ldm" ? Path.Combine(Folder, "control-ldm-fp16.safetensors") : Path.Combine(Folder, "diffusers"));

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static (string, OrtValue)[] Conditioning() =>
    [
        ("sample", Reference.Floats(Tensor("sample"))),
        ("timestep", Reference.Floats(Tensor("timestep"))),
        ("encoder_hidden_states", Reference.Floats(Tensor("encoder_hidden_states"))),
        ("text_embeds", Reference.Floats(Tensor("text_embeds"))),
        ("time_ids", Reference.Floats(Tensor("time_ids"))),
    ];

    private static Dictionary<string, (float[] Values, long[] Shape)> RunControlNet(ControlNetCheckpoint controlnet, string cond) =>
        Reference.Run(controlnet.BuildGraph().ToBytes(), [.. Conditioning(), ("controlnet_cond", Reference.Floats(Tensor(cond)))]);

    private static (float[] Values, long[] Shape) RunUNet(byte[] unet, Dictionary<string, (float[] Values, long[] Shape)> residuals) =>
        Reference.Run(unet, [.. Conditioning(), .. residuals.Select(r => (r.Key, Reference.Floats(r.Value)))])["out_sample"];
}
