using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Weights;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The SDXL graphs built from the tiny SGM single file against the independent torch reference (sdxl.py), on real ONNX
/// Runtime, within 1e-4: both text towers (penultimate hidden states without the final norm, the projected pooled
/// output), the UNet with text_embeds and time_ids, and the VAE.
/// </summary>
public sealed class SdxlReferenceTests
{
    [Fact]
    public void Family_is_told_from_tensor_names()
    {
        Assert.Equal(ModelFamily.StableDiffusionXL, SdxlCheckpoint.Detect(SdxlReference.File));
        Assert.Equal(ModelFamily.StableDiffusion1, SdxlCheckpoint.Detect(Reference.LdmFile));
        Assert.Equal(ModelFamily.StableDiffusion1, SdxlCheckpoint.Detect(Reference.DiffusersFolder));
        var error = Assert.Throws<CheckpointException>(() => Sd1Checkpoint.Open(SdxlReference.File));
        Assert.Contains("SDXL", error.Message);
    }

    [Fact]
    public void Architecture_is_read_from_the_sgm_single_file()
    {
        // architecture.json: UNet levels 64/32, 1 block, transformer depth 0/2 (middle 2), context 32 + 32, pooled 40 + 6·256;
        // CLIP-L 32 wide, 2 layers; OpenCLIP 32 wide, 2 layers, projection 40; VAE 4 levels of 32.
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var unet = checkpoint.UNet!;
        Assert.Equal([64, 32], unet.LevelChannels);
        Assert.Equal(1, unet.ResBlocksPerLevel);
        Assert.Equal([false, true], unet.AttentionLevels);
        Assert.Equal([0, 2], unet.TransformerDepths);
        Assert.Equal(2, unet.MiddleTransformerDepth);
        Assert.Equal(64, unet.ContextWidth);
        Assert.Equal(40 + (6 * 256), unet.AddedEmbeddingWidth);
        Assert.Equal(40, unet.PooledWidth);
        Assert.Equal(UNetArchitecture.ConventionalSdxlHeadWidth, unet.HeadWidth);
        Assert.Equal(1, unet.HeadsAt(32));
        Assert.Equal(2, unet.HeadsAt(128));
        Assert.Equal(new TextEncoderArchitecture(768, 77, 32, 2, 1), checkpoint.TextEncoder);
        Assert.Equal(new TextEncoderArchitecture(768, 77, 32, 2, 1) { ProjectionWidth = 40 }, checkpoint.TextEncoder2);
        Assert.Equal([32, 32, 32, 32], checkpoint.Vae!.LevelChannels);
    }

    [Fact]
    public void Open_clip_keys_map_to_transformers_names_with_the_fused_projection_split_and_the_text_projection_transposed()
    {
        using var weights = CheckpointWeights.OpenSingleFile(SdxlReference.File);
        var tower = weights.Part(ModelPart.TextEncoder2);
        var q = tower["text_model.encoder.layers.1.self_attn.q_proj.weight"];
        var v = tower["text_model.encoder.layers.1.self_attn.v_proj.bias"];
        Assert.Equal("conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight", q.Tensor.Name);
        Assert.Equal([32L, 32], q.Shape);
        var fused = q.File.ReadFloat32(q.Tensor.Name);
        Assert.Equal(fused[(32 * 32)..(2 * 32 * 32)], tower["text_model.encoder.layers.1.self_attn.k_proj.weight"].ReadFloat32());
        Assert.Equal(v.File.ReadFloat32("conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_bias")[64..], v.ReadFloat32());
        var projection = tower["text_projection.weight"];
        Assert.Equal([40L, 32], projection.Shape);
        var stored = projection.File.ReadFloat32(projection.Tensor.Name); // [32, 40], applied as x @ P
        var canonical = projection.ReadFloat32();
        Assert.Equal(stored[(5 * 40) + 7], canonical[(7 * 32) + 5]);
        Assert.DoesNotContain(tower.Keys, k => k.Contains("logit_scale", StringComparison.Ordinal));
        Assert.Equal("model.diffusion_model.label_emb.0.0.weight", weights.Part(ModelPart.UNet)["add_embedding.linear_1.weight"].Tensor.Name);
        Assert.Equal(
            "model.diffusion_model.input_blocks.3.1.transformer_blocks.1.attn2.to_k.weight",
            weights.Part(ModelPart.UNet)["down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight"].Tensor.Name);
        Assert.Equal("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", weights.Part(ModelPart.TextEncoder)["text_model.final_layer_norm.weight"].Tensor.Name);
    }

    [Fact]
    public void Text_towers_match_torch_penultimate_hidden_states_and_projected_pooled_output()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var first = Reference.Run(checkpoint.BuildTextEncoder().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(SdxlReference.Ids("text_encoder.input_ids"), [2, 77])));
        Reference.AssertClose(SdxlReference.Tensor("text_encoder.hidden_states"), first[SdxlTextEncoderGraph.HiddenStatesOutput], 1e-4, "CLIP-L hidden_states[-2]");
        var second = Reference.Run(checkpoint.BuildTextEncoder2().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(SdxlReference.Ids("text_encoder_2.input_ids"), [2, 77])));
        Reference.AssertClose(SdxlReference.Tensor("text_encoder_2.hidden_states"), second[SdxlTextEncoderGraph.HiddenStatesOutput], 1e-4, "OpenCLIP hidden_states[-2]");
        Reference.AssertClose(SdxlReference.Tensor("text_encoder_2.text_embeds"), second[SdxlTextEncoderGraph.TextEmbedsOutput], 1e-4, "text_embeds");
    }

    public static TheoryData<int?, string> HeadWidths => new() { { null, "unet.out_sample" }, { 16, "unet.out_sample_head_width_16" } };

    [Theory]
    [MemberData(nameof(HeadWidths))]
    public void UNet_with_text_embeds_and_time_ids_matches_torch(int? headWidth, string expected)
    {
        // 16-wide heads split each 32-wide transformer into 2 heads, which the 64-wide convention (1 head here) cannot show.
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File, unetHeadWidth: headWidth);
        var outputs = Reference.Run(
            checkpoint.BuildUNet().ToBytes(),
            ("sample", Reference.Floats(SdxlReference.Tensor("unet.sample"))),
            ("timestep", Reference.Floats(SdxlReference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(SdxlReference.Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(SdxlReference.Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(SdxlReference.Tensor("unet.time_ids"))));
        Reference.AssertClose(SdxlReference.Tensor(expected), outputs["out_sample"], 1e-4, "out_sample");
    }

    [Fact]
    public void UNet_output_depends_on_the_size_conditioning()
    {
        // A UNet that ignored time_ids would give the same prediction for different sizes.
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var model = checkpoint.BuildUNet().ToBytes();
        var timeIds = SdxlReference.Tensor("unet.time_ids");
        var swapped = (timeIds.Values[6..].Concat(timeIds.Values[..6]).ToArray(), timeIds.Shape);
        float[] Run((float[], long[]) ids) => Reference.Run(
            model,
            ("sample", Reference.Floats(SdxlReference.Tensor("unet.sample"))),
            ("timestep", Reference.Floats((new[] { 500f, 500f }, new long[] { 2 }))),
            ("encoder_hidden_states", Reference.Floats(SdxlReference.Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(SdxlReference.Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(ids)))["out_sample"].Values;
        var a = Run(timeIds);
        var b = Run(swapped);
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) > 0.01);
    }

    [Fact]
    public void Vae_matches_torch()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var encoded = Reference.Run(checkpoint.BuildVaeEncoder().ToBytes(), ("sample", Reference.Floats(SdxlReference.Tensor("vae.image"))));
        var moments = encoded["latent_parameters"];
        var mean = (moments.Values.Take(moments.Values.Length / 2).ToArray(), new long[] { 1, 4, 4, 4 });
        Reference.AssertClose(SdxlReference.Tensor("vae.mean"), mean, 1e-4, "mean");
        var decoded = Reference.Run(checkpoint.BuildVaeDecoder().ToBytes(), ("latent_sample", Reference.Floats(SdxlReference.Tensor("vae.latent_sample"))));
        Reference.AssertClose(SdxlReference.Tensor("vae.decoded"), decoded["sample"], 1e-4, "decoded");
    }
}
