using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The distilled SDXL UNets ComfyUI loads as SDXL (tools/reference/make_sdxl_distilled.py): an SSD-1B-shaped SGM single
/// file whose decoder attentions each have their own depth and whose middle block is one residual block, and a
/// Segmind-Vega-shaped UNet in diffusers' names (per-level depths, the same lone middle residual block) — each attention's
/// depth read from its own blocks, the graphs matching the torch reference within 1e-4, also from a diffusers folder.
/// </summary>
public sealed class DistilledSdxlReferenceTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "sdxl-distilled-tiny");

    private static string Ssd1b => Path.Combine(Folder, "ssd1b-fp16.safetensors");

    private static string Vega => Path.Combine(Folder, "vega-unet.safetensors");

    [Fact]
    public void Ssd1b_file_is_sdxl_with_a_depth_per_decoder_attention_and_a_lone_middle_residual_block()
    {
        Assert.Equal(ModelFamily.StableDiffusionXL, SdxlCheckpoint.Detect(Ssd1b));
        using var checkpoint = SdxlCheckpoint.Open(Ssd1b);
        var unet = checkpoint.UNet!;
        Assert.Equal([64, 32, 32], unet.LevelChannels);
        Assert.Equal([0, 1, 2], unet.TransformerDepths);
        Assert.Equal([0, 1, 2], SdxlVariant.EncoderDepths(unet));
        // Output blocks 0-5 (deepest level first), as ComfyUI's transformer_depth_output counts them from the keys.
        Assert.Equal([3, 1, 2, 1, 0, 0], SdxlVariant.DecoderDepths(unet));
        Assert.Equal(UNetMiddle.ResBlock, unet.Middle);
        Assert.Equal(64, unet.ContextWidth);
        Assert.Equal(40, unet.PooledWidth);
        Assert.True(SdxlVariant.IsDistilled(unet));
        Assert.Null(SdxlVariant.Name(unet)); // SSD-1B's widths are 320/640/1280; these are tiny
        Assert.Equal("transformer depths 0/1/2, decoder 3/1/2/1/0/0, middle one residual block", SdxlVariant.Describe(unet));
        Assert.NotNull(checkpoint.TextEncoder);
        Assert.NotNull(checkpoint.TextEncoder2);
        Assert.NotNull(checkpoint.Vae);

        // Cross-attention layers in diffusers' order, as an IP-Adapter numbers them: 1 + 2 in the encoder, 3 + 1 + 2 + 1 in the decoder, none in the middle.
        Assert.Equal([32, 32, 32, 32, 32, 32, 32, 32, 32, 32], IpAdapterLayers.Channels(unet));
    }

    [Fact]
    public void Model_list_labels_the_file_sdxl_with_its_attention_layout()
    {
        // GET /api/models and `flowdiffusion models` describe checkpoints so; the family (SDXL) is the label's first word.
        var entry = Catalog.ModelCatalog.Describe(Ssd1b, "checkpoints/ssd1b.safetensors", "checkpoints")!;
        Assert.Equal("SDXL (transformer depths 0/1/2, decoder 3/1/2/1/0/0, middle one residual block)", entry.Architecture);
        Assert.True(entry.IsLoadable);
        Assert.Equal("SDXL (conditioner.embedders.* keys)", Catalog.ModelCatalog.Describe(SdxlReference.File, "checkpoints/sdxl.safetensors", "checkpoints")!.Architecture);
    }

    [Theory]
    [InlineData(2, new[] { 0, 2, 10 }, "SDXL")]
    [InlineData(2, new[] { 0, 2, 4 }, "SSD-1B")]
    [InlineData(2, new[] { 0, 1, 2 }, "Segmind Vega")]
    [InlineData(1, new[] { 0, 2, 5 }, "KOALA-700M")]
    [InlineData(1, new[] { 0, 2, 6 }, "KOALA-1B")]
    [InlineData(2, new[] { 0, 2, 6 }, null)]
    public void Full_size_layouts_are_named_as_comfyuis_supported_models_tell_them_apart(int resBlocks, int[] depths, string? name)
    {
        // supported_models.py: SDXL-wide UNets (320 model channels, context 2048, added embedding 2816) by the depth after each encoder residual block.
        var unet = new UNetArchitecture(4, 4, 320, [320, 640, 1280], resBlocks, [.. depths.Select(d => d > 0)], 2048, UNetArchitecture.ConventionalHeads)
        {
            TransformerDepths = depths,
            HeadWidth = UNetArchitecture.ConventionalSdxlHeadWidth,
            AddedEmbeddingWidth = 2816,
        };
        Assert.Equal(name, SdxlVariant.Name(unet));
        Assert.Equal(name is not null and not "SDXL", SdxlVariant.IsDistilled(unet));
        Assert.Null(SdxlVariant.Name(unet with { ContextWidth = 1024 }));
    }

    [Fact]
    public void Ssd1b_unet_matches_torch()
    {
        using var checkpoint = SdxlCheckpoint.Open(Ssd1b);
        Reference.AssertClose(Tensor("ssd1b.out_sample"), RunUNet(checkpoint.BuildUNet().ToBytes()), 1e-4, "SSD-1B-shaped out_sample");
    }

    [Fact]
    public void Vega_diffusers_unet_file_reads_per_level_depths_and_matches_torch()
    {
        using var checkpoint = SdxlCheckpoint.OpenUNet(Vega);
        var unet = checkpoint.UNet!;
        Assert.Equal([0, 1, 2], unet.TransformerDepths);
        Assert.Null(unet.EncoderDepths); // every attention of a level has the level's depth, mirrored in the decoder
        Assert.Null(unet.DecoderDepths);
        Assert.Equal([2, 2, 1, 1, 0, 0], SdxlVariant.DecoderDepths(unet));
        Assert.Equal(UNetMiddle.ResBlock, unet.Middle);
        Assert.Equal("transformer depths 0/1/2, middle one residual block", SdxlVariant.Describe(unet));
        Reference.AssertClose(Tensor("vega.out_sample"), RunUNet(checkpoint.BuildUNet().ToBytes()), 1e-4, "Vega-shaped out_sample");
    }

    [Fact]
    public void Unet_without_a_middle_block_passes_the_encoders_output_to_the_decoder_and_matches_torch()
    {
        // ComfyUI's transformer_depth_middle −2 (no middle_block keys at all): the Vega-shaped file less its mid_block.
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-no-middle-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            using (var file = SafetensorsFile.Open(Vega))
            {
                SafetensorsWriter.Write(path, [.. file.Tensors.Values.Where(t => !t.Name.StartsWith("mid_block.", StringComparison.Ordinal))
                    .Select(t => (t.Name, t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
            }

            using var checkpoint = SdxlCheckpoint.OpenUNet(path);
            Assert.Equal(UNetMiddle.None, checkpoint.UNet!.Middle);
            Assert.Equal("transformer depths 0/1/2, no middle block", SdxlVariant.Describe(checkpoint.UNet));
            Reference.AssertClose(Tensor("vega_without_middle.out_sample"), RunUNet(checkpoint.BuildUNet().ToBytes()), 1e-4, "out_sample without a middle block");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Upsampler_ldm_name_follows_its_own_blocks_attention()
    {
        // A decoder level whose last block has no attention while the others have: the upsampler is that block's second
        // module (output_blocks.N.1.conv), not the third as at a level whose last block has attention.
        string[] names =
        [
            "down_blocks.0.resnets.0.conv1.weight", "down_blocks.0.resnets.1.conv1.weight",
            "up_blocks.0.attentions.0.proj_in.weight", "up_blocks.0.attentions.1.proj_in.weight", "up_blocks.0.upsamplers.0.conv.weight",
            "up_blocks.1.attentions.2.proj_in.weight", "up_blocks.1.upsamplers.0.conv.weight",
        ];
        var ldm = LdmUNetNames.Of(names);
        Assert.Equal("output_blocks.2.1.conv.weight", ldm["up_blocks.0.upsamplers.0.conv.weight"]);
        Assert.Equal("output_blocks.5.2.conv.weight", ldm["up_blocks.1.upsamplers.0.conv.weight"]);
        Assert.Equal("output_blocks.1.1.proj_in.weight", ldm["up_blocks.0.attentions.1.proj_in.weight"]);
    }

    [Fact]
    public void Vega_unet_in_a_diffusers_folder_matches_torch()
    {
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-vega-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "unet"));
            File.Copy(Vega, Path.Combine(folder, "unet", "diffusion_pytorch_model.safetensors"));
            using var checkpoint = SdxlCheckpoint.Open(folder);
            Assert.Equal(UNetMiddle.ResBlock, checkpoint.UNet!.Middle);
            Reference.AssertClose(Tensor("vega.out_sample"), RunUNet(checkpoint.BuildUNet().ToBytes()), 1e-4, "Vega-shaped out_sample from a diffusers folder");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Controlled_ssd1b_unet_takes_sdxls_skips_and_adds_the_middle_residual_after_its_lone_residual_block()
    {
        // What an SDXL ControlNet or T2I-Adapter feeds: one residual per skip (conv_in, each encoder block, each
        // downsampler) at the skip's width, and one for the middle block's output.
        using var checkpoint = SdxlCheckpoint.Open(Ssd1b);
        Assert.Equal([32, 64, 64, 32, 32, 32], ControlResiduals.SkipChannels(checkpoint.UNet!));
        var residuals = ControlResiduals.Names(checkpoint.UNet!).Select(name => (name, Reference.Floats(Tensor(name)))).ToArray();
        var outputs = Reference.Run(checkpoint.BuildControlledUNet().ToBytes(),
        [
            ("sample", Reference.Floats(Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(Tensor("unet.time_ids"))),
            .. residuals,
        ]);
        Reference.AssertClose(Tensor("ssd1b.controlled"), outputs["out_sample"], 1e-4, "SSD-1B-shaped out_sample with ControlNet residuals");
    }

    [Fact]
    public void Every_unet_graph_of_a_unet_without_middle_attention_matches_torch_and_takes_no_pag_or_sag_io()
    {
        // PAG and SAG act on the middle block's attention, which SSD-1B and Vega lack: the graphs leave their inputs out,
        // so asking for them fails by name at the UNet call rather than running as plain CFG.
        using var checkpoint = SdxlCheckpoint.Open(Ssd1b);
        var model = checkpoint.BuildUNet(DiffusersOnnxFolder.EveryUNetGraph).ToBytes();
        using (var session = new InferenceSession(model))
        {
            // Optional inputs are overridable initializers (their defaults); FreeU's are there, PAG's and SAG's are not.
            var optional = session.OverridableInitializerMetadata.Keys.ToArray();
            Assert.Contains("freeu_b1", optional);
            Assert.DoesNotContain(PerturbedAttention.MaskName, optional);
            Assert.DoesNotContain(SelfAttentionMap.RowsName, optional);
            Assert.DoesNotContain(SelfAttentionMap.OutputName, session.OutputNames);
        }

        Reference.AssertClose(Tensor("ssd1b.out_sample"), RunUNet(model), 1e-4, "SSD-1B-shaped out_sample, every optional input at its default");
    }

    [Fact]
    public void Unet_whose_levels_have_other_residual_block_counts_is_refused_naming_the_level()
    {
        // ComfyUI's num_res_blocks may differ per level; our graphs take one count (and one more in the decoder).
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-uneven-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            using (var file = SafetensorsFile.Open(Ssd1b))
            {
                SafetensorsWriter.Write(path, [.. file.Tensors.Values
                    .Where(t => t.Name.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal) && !t.Name.StartsWith(LdmKeyMap.UNetPrefix + "output_blocks.5.", StringComparison.Ordinal))
                    .Select(t => (t.Name, t.DType, t.Shape, file.GetBytes(t).ToArray()))]);
            }

            var error = Assert.Throws<CheckpointException>(() => SdxlCheckpoint.OpenUNet(path));
            Assert.Contains("level 0 has 1 encoder and 1 decoder residual blocks", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Ldm_names_of_the_diffusers_names_give_back_the_files_keys_for_loras_and_block_merges()
    {
        // kohya's SDXL LoRAs and ModelMergeSDXL's blocks name LDM modules: the decoder's upsampler sits after its block's
        // attention only where that block has one, and the middle block's lone residual block is middle_block.0.
        using var file = SafetensorsFile.Open(Ssd1b);
        var ldm = file.Tensors.Keys.Where(k => k.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal)).ToArray();
        var diffusers = LdmKeyMap.Map(ldm, Ssd1b).ToDictionary(p => p.Value.Name, p => p.Key);
        var back = LdmUNetNames.Of(diffusers.Keys);
        Assert.Equal(diffusers.Count, back.Count);
        foreach (var (name, key) in diffusers)
        {
            Assert.Equal(key[LdmKeyMap.UNetPrefix.Length..], back[name]);
        }

        Assert.Contains("middle_block.0.in_layers.0.weight", back.Values);
        Assert.DoesNotContain(back.Values, v => v.StartsWith("middle_block.1.", StringComparison.Ordinal) || v.StartsWith("middle_block.2.", StringComparison.Ordinal));
    }

    [Fact]
    public void Synthetic_sdxl_layout_with_decoder_depths_and_a_lone_middle_block_names_the_reference_files_tensors()
    {
        var layout = new SdxlLayout([64, 32, 32], [0, 1, 2], 0, 1, 32, 2, 32, 2, 40, 768, [32, 32, 32, 32])
        {
            ModelChannels = 32,
            DecoderDepths = [[3, 1], [2, 1], [0, 0]],
            Middle = UNetMiddle.ResBlock,
        };
        using var reference = CheckpointWeights.Open(Ssd1b);
        var expected = reference.Part(ModelPart.UNet).ToDictionary(p => p.Key, p => p.Value.Shape);
        var actual = layout.UNet().ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, shape) in actual)
        {
            Assert.True(expected[name].SequenceEqual(shape), name);
        }
    }

    private static (float[] Values, long[] Shape) RunUNet(byte[] model) => Reference.Run(
        model,
        ("sample", Reference.Floats(Tensor("unet.sample"))),
        ("timestep", Reference.Floats(Tensor("unet.timestep"))),
        ("encoder_hidden_states", Reference.Floats(Tensor("unet.encoder_hidden_states"))),
        ("text_embeds", Reference.Floats(Tensor("unet.text_embeds"))),
        ("time_ids", Reference.Floats(Tensor("unet.time_ids"))))["out_sample"];

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }
}
