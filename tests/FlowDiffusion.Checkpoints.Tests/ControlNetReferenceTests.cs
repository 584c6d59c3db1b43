using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>The tiny ControlNet (tools/reference/make_controlnet.py) against the torch reference, on ONNX Runtime's CPU provider.</summary>
public sealed class ControlNetReferenceTests
{
    private static string Folder => Path.Combine(Reference.Folder, "controlnet");

    public static TheoryData<string> Layouts => new() { "ldm", "diffusers" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ControlNet_residuals_match_torch(string layout)
    {
        using var controlnet = OpenControlNet(layout);
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
    public void Architecture_is_read_from_the_tensors()
    {
        using var controlnet = OpenControlNet("ldm");
        var arch = controlnet.Architecture;
        Assert.Equal([64, 32], arch.Encoder.LevelChannels);
        Assert.Equal(32, arch.Encoder.ModelChannels);
        Assert.Equal(1, arch.Encoder.ResBlocksPerLevel);
        Assert.Equal([false, true], arch.Encoder.AttentionLevels);
        Assert.Equal(64, arch.Encoder.ContextWidth);
        Assert.Equal(3, arch.ConditioningChannels);
        Assert.Equal([8, 8, 16, 16, 16, 16, 32, 32], arch.HintChannels);
        Assert.Equal(8, arch.HintDownscale);
        Assert.Equal([32, 64, 64, 32], ControlResiduals.SkipChannels(arch.Encoder));
    }

    [Fact]
    public void Controlled_UNet_with_the_ControlNet_residuals_matches_torch()
    {
        using var controlnet = OpenControlNet("ldm");
        var residuals = RunControlNet(controlnet, "controlnet_cond");
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var unet = UNetGraph.Build(checkpoint.Weights.Part(Weights.ModelPart.UNet), checkpoint.UNet!, checkpoint.Weights.Source, extras: UNetExtraInputs.ControlResiduals).ToBytes();
        var output = RunUNet(unet, residuals);
        Reference.AssertClose(Tensor("unet.controlled"), output, 1e-4, "controlled out_sample");
        var plain = Tensor("unet.out_sample");
        Assert.True(Reference.MaxDifference(plain.Values, output.Values) > 0.1, "the residuals must change the prediction");
    }

    [Fact]
    public void Stacked_ControlNets_add_their_scaled_residuals()
    {
        using var controlnet = OpenControlNet("diffusers");
        var a = RunControlNet(controlnet, "controlnet_cond");
        var b = RunControlNet(controlnet, "controlnet_cond_b");
        var sum = a.ToDictionary(p => p.Key, p => (p.Value.Values.Select((v, i) => 0.7f * v + 0.4f * b[p.Key].Values[i]).ToArray(), p.Value.Shape));
        using var checkpoint = Sd1Checkpoint.Open(Reference.DiffusersFolder);
        var unet = UNetGraph.Build(checkpoint.Weights.Part(Weights.ModelPart.UNet), checkpoint.UNet!, checkpoint.Weights.Source, extras: UNetExtraInputs.ControlResiduals).ToBytes();
        Reference.AssertClose(Tensor("unet.stacked"), RunUNet(unet, sum), 1e-4, "stacked out_sample");
    }

    [Fact]
    public void Zero_residuals_give_the_plain_UNet_and_the_default_graph_has_no_residual_inputs()
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var plainGraph = checkpoint.BuildUNet().ToBytes();
        using (var session = new InferenceSession(plainGraph))
        {
            Assert.Equal(["sample", "timestep", "encoder_hidden_states"], session.InputNames);
        }

        var controlled = UNetGraph.Build(checkpoint.Weights.Part(Weights.ModelPart.UNet), checkpoint.UNet!, checkpoint.Weights.Source, extras: UNetExtraInputs.ControlResiduals).ToBytes();
        using var controlnet = OpenControlNet("ldm");
        var zeros = RunControlNet(controlnet, "controlnet_cond").ToDictionary(p => p.Key, p => (new float[p.Value.Values.Length], p.Value.Shape));
        Reference.AssertClose(Tensor("unet.out_sample"), RunUNet(controlled, zeros), 1e-4, "out_sample with zero residuals");
    }

    [Fact]
    public void An_exported_folder_has_a_controlled_UNet_reading_the_plain_graphs_weight_file()
    {
        var scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-controlled-" + Guid.NewGuid().ToString("N"));
        try
        {
            var tokenizer = Path.Combine(scratch, "tokenizer");
            Directory.CreateDirectory(tokenizer);
            File.WriteAllText(Path.Combine(tokenizer, "vocab.json"), "{}");
            File.WriteAllText(Path.Combine(tokenizer, "merges.txt"), "#version: 0.2\n");
            var target = Path.Combine(scratch, "model");
            using (var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile))
            {
                Export.DiffusersOnnxFolder.Write(checkpoint, target, tokenizer);
            }

            var unetFolder = Path.Combine(target, "unet");
            Assert.Equal(["controlled.onnx", "ipadapter-controlled.onnx", "ipadapter.onnx", "model.onnx", "model.onnx.data"], Directory.EnumerateFiles(unetFolder, "*.onnx*").Select(Path.GetFileName).Order());
            Assert.True(new FileInfo(Path.Combine(unetFolder, "controlled.onnx")).Length < 400_000, $"the controlled graph should hold no weights ({new FileInfo(Path.Combine(unetFolder, "controlled.onnx")).Length} bytes)");
            var residuals = ControlResiduals.Names(Sd1Checkpoint.Open(Reference.LdmFile).UNet!).ToDictionary(n => n, Tensor);
            var inputs = new List<(string, OrtValue)>
            {
                ("sample", Reference.Floats(Tensor("sample"))),
                ("timestep", Reference.Floats(Tensor("timestep"))),
                ("encoder_hidden_states", Reference.Floats(Tensor("encoder_hidden_states"))),
            };
            inputs.AddRange(residuals.Select(r => (r.Key, Reference.Floats(r.Value))));
            using var session = new InferenceSession(Path.Combine(unetFolder, "controlled.onnx"));
            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Item1).ToArray(), inputs.Select(i => i.Item2).ToArray(), ["out_sample"]);
            Reference.AssertClose(Tensor("unet.controlled"), (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape), 1e-4, "controlled.onnx out_sample");
            inputs.ForEach(i => i.Item2.Dispose());
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    [Fact]
    public void A_model_checkpoint_is_refused_as_a_ControlNet_by_name()
    {
        var e = Assert.Throws<CheckpointException>(() => ControlNetCheckpoint.Open(Reference.LdmFile));
        Assert.Contains("ldm-fp16.safetensors", e.Message);
        Assert.Contains("not a ControlNet", e.Message);
    }

    [Fact]
    public void An_unknown_ControlNet_key_is_named()
    {
        var keys = new[] { "control_model.input_hint_block.0.weight", "control_model.zero_convs.0.0.weight", "control_model.output_blocks.0.0.in_layers.0.weight" };
        var e = Assert.Throws<CheckpointException>(() => ControlNetKeyMap.Map(keys, "control_model.", "x.safetensors"));
        Assert.Contains("control_model.output_blocks.0.0.in_layers.0.weight", e.Message);
    }

    [Fact]
    public void Original_keys_map_to_diffusers_names()
    {
        var keys = new[]
        {
            "control_model.input_hint_block.0.weight", "control_model.input_hint_block.2.bias", "control_model.input_hint_block.14.weight",
            "control_model.zero_convs.3.0.weight", "control_model.middle_block_out.0.bias", "control_model.input_blocks.0.0.weight",
            "control_model.time_embed.2.bias", "control_model.middle_block.1.proj_in.weight",
        };
        var map = ControlNetKeyMap.Map(keys, "control_model.", "x.safetensors");
        Assert.Equal("controlnet_cond_embedding.conv_in.weight", map[keys[0]]);
        Assert.Equal("controlnet_cond_embedding.blocks.0.bias", map[keys[1]]);
        Assert.Equal("controlnet_cond_embedding.conv_out.weight", map[keys[2]]);
        Assert.Equal("controlnet_down_blocks.3.weight", map[keys[3]]);
        Assert.Equal("controlnet_mid_block.bias", map[keys[4]]);
        Assert.Equal("conv_in.weight", map[keys[5]]);
        Assert.Equal("time_embedding.linear_2.bias", map[keys[6]]);
        Assert.Equal("mid_block.attentions.0.proj_in.weight", map[keys[7]]);
    }

    internal static ControlNetCheckpoint OpenControlNet(string layout) =>
        ControlNetCheckpoint.Open(layout == "ldm" ? Path.Combine(Folder, "control-ldm-fp16.safetensors") : Path.Combine(Folder, "diffusers"));

    internal static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static Dictionary<string, (float[] Values, long[] Shape)> RunControlNet(ControlNetCheckpoint controlnet, string cond) =>
        Reference.Run(
            controlnet.BuildGraph().ToBytes(),
            ("sample", Reference.Floats(Tensor("sample"))),
            ("timestep", Reference.Floats(Tensor("timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("encoder_hidden_states"))),
            ("controlnet_cond", Reference.Floats(Tensor(cond))));

    private static (float[] Values, long[] Shape) RunUNet(byte[] unet, Dictionary<string, (float[] Values, long[] Shape)> residuals)
    {
        var inputs = new List<(string, OrtValue)>
        {
            ("sample", Reference.Floats(Tensor("sample"))),
            ("timestep", Reference.Floats(Tensor("timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("encoder_hidden_states"))),
        };
        inputs.AddRange(residuals.Select(r => (r.Key, Reference.Floats(r.Value))));
        return Reference.Run(unet, [.. inputs])["out_sample"];
    }

}
