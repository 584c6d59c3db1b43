using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// SD 2.x single files (tools/reference/make_sd2_checkpoint.py, sd2.py): the OpenCLIP tower under
/// <c>cond_stage_model.model.</c> read without its last layer, exact GELU, its last output the penultimate layer through
/// ln_final; the UNet with linear projections and 64-wide heads; against torch within 1e-4 on real ONNX Runtime. ComfyUI's
/// 768-v test of the weights, and the variants refused by name.
/// </summary>
public sealed class Sd2ReferenceTests
{
    private const string VKey = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias";

    [Fact]
    public void Family_and_architecture_are_read_from_the_single_file()
    {
        Assert.Equal(ModelFamily.StableDiffusion2, SdxlCheckpoint.Detect(Sd2Reference.File));
        using var checkpoint = Sd1Checkpoint.Open(Sd2Reference.File);
        Assert.Equal(ModelFamily.StableDiffusion2, checkpoint.Family);
        Assert.Equal(ModelFamily.StableDiffusion1, Open(Reference.LdmFile).Family);

        // SD 2's layout at 32 channels: 4 levels, 2 blocks, attention at the first three, 64-wide heads (1 at width 32).
        var unet = checkpoint.UNet!;
        Assert.Equal([32, 32, 32, 32], unet.LevelChannels);
        Assert.Equal(2, unet.ResBlocksPerLevel);
        Assert.Equal([true, true, true, false], unet.AttentionLevels);
        Assert.Equal(128, unet.ContextWidth);
        Assert.Equal(0, unet.AddedEmbeddingWidth);
        Assert.Equal(UNetArchitecture.ConventionalSd2HeadWidth, unet.HeadWidth);
        Assert.Equal(1, unet.HeadsAt(32));

        // Three OpenCLIP layers stored, two converted (SD 2 never runs the last); 128 wide: 2 heads of 64.
        Assert.Equal(new TextEncoderArchitecture(768, 77, 128, 2, 2) { ProjectionWidth = 128 }, checkpoint.TextEncoder);
        var q = checkpoint.Weights.Part(ModelPart.TextEncoder)["text_model.encoder.layers.1.self_attn.q_proj.weight"];
        Assert.Equal("cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight", q.Tensor.Name);
        Assert.DoesNotContain(checkpoint.Weights.Part(ModelPart.TextEncoder).Keys, k => k.StartsWith("text_model.encoder.layers.2.", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_encoder_gives_the_penultimate_layer_through_ln_final_as_its_last_hidden_state()
    {
        using var checkpoint = Sd1Checkpoint.Open(Sd2Reference.File);
        var ids = Sd2Reference.Ids("text_encoder.input_ids");
        Assert.Equal(0, ids[76]); // padded with "!" (id 0), as SD 2's tokenizer pads
        var outputs = Reference.Run(checkpoint.BuildTextEncoder().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(ids, [2, 77])));
        Reference.AssertClose(Sd2Reference.Tensor("text_encoder.last_hidden_state"), outputs["last_hidden_state"], 1e-4, "last_hidden_state");
        Reference.AssertClose(Sd2Reference.Tensor("text_encoder.penultimate_hidden_state"), outputs[TextEncoderGraph.PenultimateOutput], 1e-4, "clip skip 2");
    }

    [Theory]
    [InlineData(null, "unet.out_sample")]
    [InlineData(16, "unet.out_sample_head_width_16")]
    public void UNet_prediction_matches_torch(int? headWidth, string expected)
    {
        using var checkpoint = Sd1Checkpoint.Open(Sd2Reference.File, unetHeadWidth: headWidth);
        var outputs = Reference.Run(
            checkpoint.BuildUNet().ToBytes(),
            ("sample", Reference.Floats(Sd2Reference.Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Sd2Reference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Sd2Reference.Tensor("unet.encoder_hidden_states"))));
        Reference.AssertClose(Sd2Reference.Tensor(expected), outputs["out_sample"], 1e-4, expected);
    }

    [Fact]
    public void V_prediction_is_read_from_the_last_transformer_norm_bias_as_comfyui_reads_it()
    {
        // The committed file's bias has a spread of 0.12 (> 0.09): a 768-v model. The same file with 0.05 is a 512-base.
        Assert.Equal(new CheckpointSampling("v_prediction", false), CheckpointSampling.Of(Sd2Reference.File, "auto"));
        Assert.Equal("epsilon", CheckpointSampling.Of(Sd2Reference.File, "epsilon").PredictionType);
        var path = Temp("sd2-base");
        try
        {
            Rewrite(Sd2Reference.File, path, (name, values) => name == VKey ? [.. values.Select(v => v * 0.05f / 0.12f)] : values);
            Assert.Equal("epsilon", CheckpointSampling.Of(path, "auto").PredictionType);
            // SD 1.x files are never judged by that tensor.
            Assert.Equal("epsilon", CheckpointSampling.Of(Reference.LdmFile, "auto").PredictionType);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Sd2_saved_in_sgm_layout_loads_as_sd2_and_the_refiner_stays_sdxl()
    {
        // ComfyUI reads SD 2's tower under conditioner.embedders.0.model. too; the SDXL refiner has that prefix and label_emb.
        var path = Temp("sd2-sgm");
        try
        {
            Rewrite(Sd2Reference.File, path, (_, values) => values, name => name.Replace("cond_stage_model.model.", "conditioner.embedders.0.model.", StringComparison.Ordinal));
            Assert.Equal(ModelFamily.StableDiffusion2, SdxlCheckpoint.Detect(path));
            using var checkpoint = Sd1Checkpoint.Open(path);
            Assert.Equal(ModelFamily.StableDiffusion2, checkpoint.Family);
            var outputs = Reference.Run(checkpoint.BuildTextEncoder().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(Sd2Reference.Ids("text_encoder.input_ids"), [2, 77])));
            Reference.AssertClose(Sd2Reference.Tensor("text_encoder.last_hidden_state"), outputs["last_hidden_state"], 1e-4, "last_hidden_state");
            Assert.Equal(ModelFamily.StableDiffusionXL, SdxlCheckpoint.Detect(Path.Combine(AppContext.BaseDirectory, "TestData", "sdxl-refiner-tiny", "refiner-fp16.safetensors")));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void An_sd2_controlnet_takes_64_wide_heads_like_its_unet()
    {
        // The tiny SD 1.x ControlNet with its 1×1-convolution projections stored as linear layers (same numbers), as SD 2.x
        // ControlNets store them: built with 64-wide heads (1 head at widths 64 and 32), it must give what the convolution
        // version gives with 1 head, and not what it gives with SD 1.x's 8.
        var original = Path.Combine(Reference.Folder, "controlnet", "control-ldm-fp16.safetensors");
        var path = Temp("sd2-controlnet");
        try
        {
            using (var file = SafetensorsFile.Open(original))
            {
                SafetensorsWriter.WriteFloat32(path, file.Tensors.Values.Select(t =>
                    (t.Name, t.Name.EndsWith(".proj_in.weight", StringComparison.Ordinal) || t.Name.EndsWith(".proj_out.weight", StringComparison.Ordinal) ? t.Shape[..2] : t.Shape, file.ReadFloat32(t.Name))));
            }

            using var linear = ControlNet.ControlNetCheckpoint.Open(path);
            Assert.Equal(UNetArchitecture.ConventionalSd2HeadWidth, linear.Architecture.Encoder.HeadWidth);
            using var oneHead = ControlNet.ControlNetCheckpoint.Open(original, heads: 1);
            using var eightHeads = ControlNet.ControlNetCheckpoint.Open(original);
            var expected = RunControlNet(oneHead);
            var actual = RunControlNet(linear);
            var sd1 = RunControlNet(eightHeads);
            foreach (var name in ControlResiduals.Names(linear.Architecture.Encoder))
            {
                Reference.AssertClose(expected[name], actual[name], 1e-5, name);
            }

            Assert.Contains(ControlResiduals.Names(linear.Architecture.Encoder), n => expected[n].Values.Zip(sd1[n].Values).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("low_scale_model.betas", 4, "x4 upscaler")]
    [InlineData(null, 7, "x4 upscaler")]
    [InlineData("depth_model.model.pretrained.act_postprocess1.0.project.0.bias", 4, "depth-to-image")]
    [InlineData(null, 5, "depth-to-image")]
    [InlineData("noise_augmentor.betas", 4, "unCLIP")]
    [InlineData("model.diffusion_model.label_emb.0.0.weight", 4, "unCLIP")]
    public void Sd2_variants_this_version_does_not_run_are_refused_by_name(string? extraKey, int inputChannels, string variant)
    {
        var path = Temp("sd2-variant");
        try
        {
            var tensors = new List<(string, long[], float[])>
            {
                ("cond_stage_model.model.ln_final.weight", [4], [1, 1, 1, 1]),
                ("model.diffusion_model.input_blocks.0.0.weight", [4, inputChannels, 3, 3], new float[4 * inputChannels * 9]),
            };
            if (extraKey is not null)
            {
                tensors.Add((extraKey, [2, 2], [1, 2, 3, 4]));
            }

            SafetensorsWriter.WriteFloat32(path, tensors);
            Assert.Equal(ModelFamily.StableDiffusion2, SdxlCheckpoint.Detect(path));
            var error = Assert.Throws<CheckpointException>(() => Sd1Checkpoint.Open(path));
            Assert.Contains(variant, error.Message);
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Sd1Checkpoint Open(string path)
    {
        var checkpoint = Sd1Checkpoint.Open(path);
        checkpoint.Dispose();
        return checkpoint;
    }

    private static Dictionary<string, (float[] Values, long[] Shape)> RunControlNet(ControlNet.ControlNetCheckpoint controlnet) =>
        Reference.Run(
            controlnet.BuildGraph().ToBytes(),
            ("sample", Reference.Floats(ControlNetReferenceTests.Tensor("sample"))),
            ("timestep", Reference.Floats(ControlNetReferenceTests.Tensor("timestep"))),
            ("encoder_hidden_states", Reference.Floats(ControlNetReferenceTests.Tensor("encoder_hidden_states"))),
            ("controlnet_cond", Reference.Floats(ControlNetReferenceTests.Tensor("controlnet_cond"))));

    private static string Temp(string name) => Path.Combine(Path.GetTempPath(), $"flowdiffusion-{name}-{Guid.NewGuid():N}.safetensors");

    // Copies a safetensors file as float32 with some tensors' values (and names) changed.
    private static void Rewrite(string from, string to, Func<string, float[], float[]> change, Func<string, string>? rename = null)
    {
        using var file = SafetensorsFile.Open(from);
        SafetensorsWriter.WriteFloat32(to, file.Tensors.Values.Select(t => ((rename ?? (n => n))(t.Name), t.Shape, change(t.Name, file.ReadFloat32(t.Name)))));
    }
}
