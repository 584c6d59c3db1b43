using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// LoRA keys matched to the tiny checkpoint's weights (tools/reference/make_lora.py wrote the files; the outputs with
/// them applied are checked against torch in the SD pack's LoraApplyTests).
/// </summary>
public sealed class LoraReaderTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-lora-" + Guid.NewGuid().ToString("N"));

    private static string LoraFolder => Path.Combine(Reference.Folder, "lora");

    [Fact]
    public void Kohya_keys_match_linear_1x1_and_3x3_weights_with_alpha_over_rank_and_a_missing_module_is_listed_unmatched()
    {
        var (unet, text) = Shapes();
        var match = LoraReader.Match(Path.Combine(LoraFolder, "kohya-a.safetensors"), unet, text);

        Assert.Equal("kohya", match.Format);
        Assert.Equal(7, match.For(LoraNetwork.UNet).Count());
        Assert.Equal(3, match.For(LoraNetwork.TextEncoder).Count());
        Assert.Equal((28, 30), (match.MatchedKeyCount, match.KeyCount));
        Assert.Equal(
            ["lora_unet_down_blocks_5_attentions_0_proj_in.lora_down.weight", "lora_unet_down_blocks_5_attentions_0_proj_in.lora_up.weight"],
            match.Unmatched.Select(u => u.Key));
        Assert.All(match.Unmatched, u => Assert.Contains("no weight", u.Reason));

        var q = Module(match, "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight");
        Assert.Equal((4, 0.5f), (((LowRankFactors)q.Factors).Rank, q.Scale)); // alpha 2, rank 4
        var noAlpha = Module(match, "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight");
        Assert.Null(noAlpha.Factors.AlphaKey);
        Assert.Equal(1f, noAlpha.Scale);
        Assert.Equal([32L, 64], noAlpha.Shape);
        var locon = Module(match, "down_blocks.0.resnets.0.conv1.weight");
        Assert.Equal(7f / 4, locon.Scale);
        Assert.Equal([64L, 32, 3, 3], locon.Shape);
        Assert.Equal("lora_te_text_model_encoder_layers_1_mlp_fc1", Module(match, "text_model.encoder.layers.1.mlp.fc1.weight").Module);
    }

    [Fact]
    public void A_3x3_locon_delta_is_up_times_the_flattened_down_kernel_times_the_scale()
    {
        var (unet, text) = Shapes();
        using var file = SafetensorsFile.Open(Path.Combine(LoraFolder, "kohya-a.safetensors"));
        var module = Module(LoraReader.Match(file, unet, text), "down_blocks.0.resnets.0.conv1.weight");

        var delta = module.ReadDelta(file);

        var up = file.ReadFloat32(((LowRankFactors)module.Factors).UpKey); // [64, 4, 1, 1]
        var down = file.ReadFloat32(((LowRankFactors)module.Factors).DownKey); // [4, 32, 3, 3]
        Assert.Equal(64 * 32 * 9, delta.Length);
        foreach (var (o, i, ky, kx) in new[] { (0, 0, 0, 0), (63, 31, 2, 2), (17, 5, 1, 2), (40, 20, 2, 0) })
        {
            double expected = 0;
            for (var r = 0; r < 4; r++)
            {
                expected += up[(o * 4) + r] * down[(r * 288) + (i * 9) + (ky * 3) + kx];
            }

            Assert.Equal(expected * 1.75, delta[(o * 288) + (i * 9) + (ky * 3) + kx], 1e-5);
        }
    }

    [Fact]
    public void Without_a_text_encoder_its_keys_are_unmatched_saying_so()
    {
        var (unet, _) = Shapes();
        var match = LoraReader.Match(Path.Combine(LoraFolder, "kohya-a.safetensors"), unet, null);

        Assert.Empty(match.For(LoraNetwork.TextEncoder));
        var te = match.Unmatched.Where(u => u.Key.StartsWith("lora_te_", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, te.Count); // 3 modules: up, down, and alpha on two of them
        Assert.All(te, u => Assert.Contains("no text encoder was given", u.Reason));
    }

    [Fact]
    public void Peft_lora_A_B_and_diffusers_lora_down_up_keys_match_with_scale_one()
    {
        var (unet, text) = Shapes();
        var match = LoraReader.Match(Path.Combine(LoraFolder, "peft-b.safetensors"), unet, text);

        Assert.Equal("diffusers", match.Format);
        Assert.Empty(match.Unmatched);
        Assert.Equal((8, 8), (match.MatchedKeyCount, match.KeyCount));
        Assert.All(match.Modules, m => Assert.Equal(1f, m.Scale));
        Assert.Equal("unet.up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.lora_A.weight", ((LowRankFactors)Module(match, "up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v.weight").Factors).DownKey);
        Assert.Equal(LoraNetwork.TextEncoder, Module(match, "text_model.encoder.layers.0.mlp.fc2.weight").Network);
    }

    [Fact]
    public void Processor_linear_layer_and_base_model_keys_match_and_misfits_are_unmatched_with_their_reason()
    {
        var (unet, text) = Shapes();
        const string Attn = "down_blocks.1.attentions.0.transformer_blocks.0.attn1";
        var path = Write(new()
        {
            [$"{Attn}.processor.to_out_lora.down.weight"] = ([2, 32], 0.1f),
            [$"{Attn}.processor.to_out_lora.up.weight"] = ([32, 2], 0.1f),
            ["text_encoder.text_model.encoder.layers.0.self_attn.k_proj.lora_linear_layer.down.weight"] = ([2, 64], 0.1f),
            ["text_encoder.text_model.encoder.layers.0.self_attn.k_proj.lora_linear_layer.up.weight"] = ([64, 2], 0.1f),
            ["text_encoder.text_model.encoder.layers.0.self_attn.k_proj.alpha"] = ([], 1f),
            ["base_model.model.mid_block.attentions.0.proj_out.lora_A.weight"] = ([2, 32, 1, 1], 0.1f),
            ["base_model.model.mid_block.attentions.0.proj_out.lora_B.weight"] = ([32, 2, 1, 1], 0.1f),
            // wrong width: 48 inputs for a [32, 32] weight
            ["lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight"] = ([2, 48], 0.1f),
            ["lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q.lora_up.weight"] = ([32, 2], 0.1f),
            // no up matrix
            ["lora_te_text_model_encoder_layers_1_self_attn_q_proj.lora_down.weight"] = ([2, 64], 0.1f),
            // a LyCORIS LoHa missing three of its four factors
            ["lora_unet_conv_in.hada_w1_a"] = ([2, 2], 0.1f),
        });

        var match = LoraReader.Match(path, unet, text);

        Assert.Equal("kohya+diffusers", match.Format);
        Assert.Equal(
            [$"{Attn}.to_out.0.weight", "mid_block.attentions.0.proj_out.weight", "text_model.encoder.layers.0.self_attn.k_proj.weight"],
            match.Modules.Select(m => m.Weight).Order(StringComparer.Ordinal));
        Assert.Equal(0.5f, Module(match, "text_model.encoder.layers.0.self_attn.k_proj.weight").Scale);
        Assert.Contains("does not fit weight 'mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight'", Reason(match, "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight"));
        Assert.Contains("no up matrix", Reason(match, "lora_te_text_model_encoder_layers_1_self_attn_q_proj.lora_down.weight"));
        Assert.Contains("has no hada_w1_b", Reason(match, "lora_unet_conv_in.hada_w1_a"));
        Assert.Equal(4, match.Unmatched.Count);
    }

    [Fact]
    public void Lycoris_algorithms_match_with_their_factors_and_the_scales_comfyui_takes()
    {
        var (unet, text) = Shapes();
        var match = LoraReader.Match(Path.Combine(LoraFolder, "lycoris-c.safetensors"), unet, text);

        Assert.Equal("kohya", match.Format);
        Assert.Empty(match.Unmatched);
        Assert.Equal((48, 48), (match.MatchedKeyCount, match.KeyCount));
        var loha = Assert.IsType<HadamardFactors>(Module(match, "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight").Factors);
        Assert.Equal((4, 2, 0.75f), (loha.Rank1, loha.Rank2, loha.Scale)); // alpha 3 over hada_w1_b's 4 rows
        Assert.NotNull(Assert.IsType<HadamardFactors>(Module(match, "down_blocks.0.resnets.0.conv1.weight").Factors).T1);
        Assert.Equal(0.5f, Module(match, "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight").Scale); // alpha 1 over lokr_w2_b's 2 rows
        Assert.Equal(2f, Module(match, "up_blocks.0.resnets.0.conv1.weight").Scale); // alpha 4 over w2_b's 2 rows, w1 decomposed too
        var whole = Assert.IsType<KroneckerFactors>(Module(match, "up_blocks.0.attentions.0.proj_in.weight").Factors);
        Assert.Equal((1f, (4, 8), (8, 4)), (whole.Scale, whole.W1Shape, whole.W2Shape)); // neither factor decomposed: alpha 7 unused
        Assert.NotNull(Assert.IsType<LowRankFactors>(Module(match, "mid_block.resnets.0.conv1.weight").Factors).MidKey);
        var onInput = Module(match, "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.weight");
        Assert.Equal((true, false), (onInput.DoraScaleKey is not null, onInput.DoraOnOutputAxis));
        Assert.True(Module(match, "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight").DoraOnOutputAxis);
    }

    [Fact]
    public void Lycoris_misfits_are_unmatched_with_their_reason()
    {
        var (unet, text) = Shapes();
        const string Q = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"; // [32, 32]
        const string K = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"; // [32, 64]
        const string V = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_v"; // [32, 64]
        const string Conv = "lora_unet_down_blocks_0_resnets_0_conv1"; // [64, 32, 3, 3]
        const string Proj = "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj"; // [256, 32]
        const string Empty = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q"; // [32, 32]
        var path = Write(new()
        {
            // LoHa whose second pair is one column short
            [$"{Q}.hada_w1_a"] = ([32, 2], 0.1f), [$"{Q}.hada_w1_b"] = ([2, 32], 0.1f), [$"{Q}.hada_w2_a"] = ([32, 2], 0.1f), [$"{Q}.hada_w2_b"] = ([2, 31], 0.1f),
            // LoKr whose Kronecker product is [32, 48], not [32, 64]
            [$"{K}.lokr_w1"] = ([4, 4], 0.1f), [$"{K}.lokr_w2"] = ([8, 12], 0.1f),
            // a LoRA with a dora_scale of neither axis
            [$"{V}.lora_down.weight"] = ([2, 64], 0.1f), [$"{V}.lora_up.weight"] = ([32, 2], 0.1f), [$"{V}.dora_scale"] = ([1, 32], 1f),
            // LoHa with one Tucker core
            [$"{Conv}.hada_w1_a"] = ([2, 64], 0.1f), [$"{Conv}.hada_w1_b"] = ([2, 32], 0.1f), [$"{Conv}.hada_w2_a"] = ([2, 64], 0.1f), [$"{Conv}.hada_w2_b"] = ([2, 32], 0.1f),
            [$"{Conv}.hada_t1"] = ([2, 2, 3, 3], 0.1f),
            // LoRA and LoKr keys in one module
            [$"{Proj}.lora_down.weight"] = ([2, 32], 0.1f), [$"{Proj}.lora_up.weight"] = ([256, 2], 0.1f), [$"{Proj}.lokr_w1"] = ([2, 2], 0.1f),
            // an empty axis (its Kronecker product would be empty)
            [$"{Empty}.lokr_w1"] = ([0, 4], 0.1f), [$"{Empty}.lokr_w2"] = ([32, 8], 0.1f),
        });

        var match = LoraReader.Match(path, unet, text);

        Assert.Empty(match.Modules);
        Assert.Contains("hada_w2_b [2,31] do not fit weight", Reason(match, $"{Q}.hada_w1_a"));
        Assert.Contains("w1 [4,4] ⊗ w2 [8,12] do not fit weight", Reason(match, $"{K}.lokr_w2"));
        Assert.Contains("fits weight 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight' [32,64] on neither axis", Reason(match, $"{V}.dora_scale"));
        Assert.Contains("one Tucker core of two", Reason(match, $"{Conv}.hada_t1"));
        Assert.Contains("mixes LoRA and LoKr keys", Reason(match, $"{Proj}.lokr_w1"));
        Assert.Contains("[0,4] has an empty or oversized axis", Reason(match, $"{Empty}.lokr_w2"));
    }

    [Fact]
    public void Oft_boft_glora_and_set_weight_match_with_the_layouts_and_constraints_comfyui_takes()
    {
        var (unet, text) = Shapes();
        var match = LoraReader.Match(Path.Combine(LoraFolder, "lycoris-e.safetensors"), unet, text);

        Assert.Equal((33, 34), (match.MatchedKeyCount, match.KeyCount));
        Assert.Equal("lora_unet_down_blocks_0_resnets_0_conv1.rescale", Assert.Single(match.Unmatched).Key);
        var oft = Assert.IsType<OrthogonalFactors>(Module(match, "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight").Factors);
        Assert.Equal((4, 8, 0.5f, 1f), (oft.BlockCount, oft.BlockSize, oft.Constraint, oft.Scale)); // alpha is the constraint, not a scale
        var boft = Assert.IsType<ButterflyFactors>(Module(match, "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight").Factors);
        Assert.Equal((3, 32, 8, 3f), (boft.Stages, boft.BlockCount, boft.BlockSize, boft.Constraint));
        Assert.NotNull(boft.RescaleKey);
        Assert.Null(Assert.IsType<ButterflyFactors>(Module(match, "text_model.encoder.layers.1.mlp.fc2.weight").Factors).RescaleKey);
        var current = Assert.IsType<GeneralizedFactors>(Module(match, "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight").Factors);
        Assert.Equal((false, 4, 0.5f), (current.Old, current.Rank, current.Scale)); // alpha 2 over a2's 4 rows
        // a square weight whose a2 has as many rows as the weight: the old layout, alpha 1.5 over a1's 3 rows
        var old = Assert.IsType<GeneralizedFactors>(Module(match, "text_model.encoder.layers.1.self_attn.q_proj.weight").Factors);
        Assert.Equal((true, 3, 0.5f), (old.Old, old.Rank, old.Scale));
        Assert.False(Assert.IsType<GeneralizedFactors>(Module(match, "mid_block.resnets.0.conv1.weight").Factors).Old);
        Assert.IsType<ReplacementFactors>(Module(match, "text_model.encoder.layers.1.layer_norm2.weight").Factors);
        Assert.Equal(2f, Module(match, "text_model.encoder.layers.0.mlp.fc1.weight").Factors.DoraFactor); // OFT's DoRA takes its alpha
    }

    [Fact]
    public void Whole_weight_keys_replace_each_other_and_a_lora_update_in_comfyuis_order()
    {
        // ComfyUI's load_lora keeps one patch per weight, assigned: LoRA-family update, w_norm, diff, set_weight; per bias:
        // b_norm (only beside w_norm), then diff_b.
        var (unet, text) = Shapes();
        const string LoraAndDiff = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q"; // [32, 32]
        const string NormAndDiff = "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_2"; // [32, 128], bias [32]
        const string LoraAndBias = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0"; // [32, 32], bias [32]
        const string LoneBNorm = "lora_unet_mid_block_attentions_0_proj_in"; // bias [32]
        var path = Write(new()
        {
            [$"{LoraAndDiff}.lora_down.weight"] = ([2, 32], 0.1f), [$"{LoraAndDiff}.lora_up.weight"] = ([32, 2], 0.1f), [$"{LoraAndDiff}.alpha"] = ([], 1f),
            [$"{LoraAndDiff}.diff"] = ([32, 32], 0.1f),
            [$"{NormAndDiff}.w_norm"] = ([32, 128], 0.1f), [$"{NormAndDiff}.diff"] = ([32, 128], 0.1f),
            [$"{NormAndDiff}.b_norm"] = ([32], 0.1f), [$"{NormAndDiff}.diff_b"] = ([32], 0.1f),
            [$"{LoraAndBias}.lora_down.weight"] = ([2, 32], 0.1f), [$"{LoraAndBias}.lora_up.weight"] = ([32, 2], 0.1f), [$"{LoraAndBias}.diff_b"] = ([32], 0.1f),
            [$"{LoneBNorm}.b_norm"] = ([32], 0.1f),
        });

        var match = LoraReader.Match(path, unet, text);

        Assert.Equal($"{LoraAndDiff}.diff", Assert.IsType<WholeFactors>(Module(match, "mid_block.attentions.0.transformer_blocks.0.attn1.to_q.weight").Factors).Key);
        Assert.All(new[] { "lora_down.weight", "lora_up.weight", "alpha" }, k => Assert.Contains("diff replaces this module's weight", Reason(match, $"{LoraAndDiff}.{k}")));
        Assert.Equal($"{NormAndDiff}.diff", Assert.IsType<WholeFactors>(Module(match, "mid_block.attentions.0.transformer_blocks.0.ff.net.2.weight").Factors).Key);
        Assert.Contains("diff replaces this module's weight", Reason(match, $"{NormAndDiff}.w_norm"));
        Assert.Equal($"{NormAndDiff}.diff_b", Assert.IsType<WholeFactors>(Module(match, "mid_block.attentions.0.transformer_blocks.0.ff.net.2.bias").Factors).Key);
        Assert.Contains("diff_b replaces this module's bias", Reason(match, $"{NormAndDiff}.b_norm"));
        // A LoRA update of the weight and diff_b on the bias both apply.
        Assert.IsType<LowRankFactors>(Module(match, "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.weight").Factors);
        Assert.IsType<WholeFactors>(Module(match, "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0.bias").Factors);
        Assert.Contains("b_norm without w_norm", Reason(match, $"{LoneBNorm}.b_norm"));
        Assert.Equal(5, match.Modules.Count);
    }

    [Fact]
    public void Oft_boft_glora_and_set_weight_misfits_are_unmatched_with_their_reason()
    {
        var (unet, text) = Shapes();
        const string Q = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"; // [32, 32]
        const string K = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_k"; // [32, 32]
        const string V = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_v"; // [32, 32]
        const string Out = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_out_0"; // [32, 32]
        const string K2 = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"; // [32, 64]
        const string V2 = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_v"; // [32, 64]
        const string MidQ = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q"; // [32, 32]
        const string MidK = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_k"; // [32, 32]
        const string MidV = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_v"; // [32, 32]
        const string MidOut = "lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_out_0"; // [32, 32]
        const string Ff = "lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_2"; // [32, 128]
        const string Proj = "lora_unet_mid_block_attentions_0_proj_in"; // [32, 32, 1, 1]
        const string Set = "lora_unet_mid_block_attentions_0_proj_out"; // [32, 32, 1, 1]
        var path = Write(new()
        {
            [$"{Q}.oft_blocks"] = ([4, 8, 7], 0.1f), // not square
            [$"{K}.oft_blocks"] = ([3, 8, 8], 0.1f), // 24 rows of 32
            [$"{V}.oft_blocks"] = ([32, 32], 0.1f), // neither 3-D nor 4-D
            [$"{Out}.oft_blocks"] = ([5, 8, 4, 4], 0.1f), [$"{Out}.alpha"] = ([], 1f), // stage 4 regroups runs of 64 rows
            [$"{MidQ}.oft_blocks"] = ([2, 8, 4, 4], 0.1f), // BOFT without alpha
            [$"{MidK}.oft_blocks"] = ([2, 8, 4, 4], 0.1f), [$"{MidK}.alpha"] = ([], 1f), [$"{MidK}.rescale"] = ([1, 32], 1f), // rescale per column
            [$"{MidV}.rescale"] = ([32, 1], 1f), // rescale alone
            [$"{K2}.a1.weight"] = ([64, 4], 0.1f), [$"{K2}.a2.weight"] = ([4, 64], 0.1f), [$"{K2}.b1.weight"] = ([32, 4], 0.1f), // no b2
            [$"{V2}.a1.weight"] = ([64, 4], 0.1f), [$"{V2}.a2.weight"] = ([4, 64], 0.1f), [$"{V2}.b1.weight"] = ([32, 4], 0.1f), [$"{V2}.b2.weight"] = ([4, 63], 0.1f),
            [$"{MidOut}.a1.weight"] = ([32, 4], 0.1f), [$"{MidOut}.a2.weight"] = ([3, 31], 0.1f), [$"{MidOut}.b1.weight"] = ([32, 4], 0.1f), [$"{MidOut}.b2.weight"] = ([4, 32], 0.1f),
            [$"{Ff}.a1.weight"] = ([128, 2], 0.1f), [$"{Ff}.a2.weight"] = ([2, 128], 0.1f), [$"{Ff}.b1.weight"] = ([32, 2], 0.1f), [$"{Ff}.b2.weight"] = ([2, 128], 0.1f),
            [$"{Ff}.oft_blocks"] = ([4, 8, 8], 0.1f), // GLoRA and OFT in one module
            [$"{Proj}.set_weight"] = ([32, 32, 3, 3], 0.1f), // the wrong shape
            // set_weight beside a LoRA: the set applies, the LoRA's keys change nothing
            [$"{Set}.set_weight"] = ([32, 32, 1, 1], 0.1f), [$"{Set}.lora_down.weight"] = ([2, 32, 1, 1], 0.1f), [$"{Set}.lora_up.weight"] = ([32, 2, 1, 1], 0.1f), [$"{Set}.alpha"] = ([], 1f),
            ["unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_q.lora_magnitude_vector"] = ([32], 1f),
        });

        var match = LoraReader.Match(path, unet, text);

        Assert.IsType<ReplacementFactors>(Assert.Single(match.Modules).Factors);
        Assert.Contains("are not square blocks", Reason(match, $"{Q}.oft_blocks"));
        Assert.Contains("3 blocks of 8 rows are not its 32 output rows", Reason(match, $"{K}.oft_blocks"));
        Assert.Contains("neither OFT's [blocks, size, size] nor BOFT's", Reason(match, $"{V}.oft_blocks"));
        Assert.Contains("stage 4 regroups runs of 2^5 · 2 rows, which do not divide its 32 output rows", Reason(match, $"{Out}.oft_blocks"));
        Assert.Contains("BOFT without alpha", Reason(match, $"{MidQ}.oft_blocks"));
        Assert.Contains("rescale [1,32] is not one factor per output row", Reason(match, $"{MidK}.rescale"));
        Assert.Contains("has rescale but no oft_blocks", Reason(match, $"{MidV}.rescale"));
        Assert.Contains("has no b2.weight", Reason(match, $"{K2}.a1.weight"));
        Assert.Contains("b2 [4,63] do not fit weight", Reason(match, $"{V2}.b2.weight"));
        Assert.Contains("in either GLoRA layout", Reason(match, $"{MidOut}.a2.weight"));
        Assert.Contains("mixes GLoRA and OFT keys", Reason(match, $"{Ff}.oft_blocks"));
        Assert.Contains("is not the shape of", Reason(match, $"{Proj}.set_weight"));
        Assert.All(new[] { "lora_down.weight", "lora_up.weight", "alpha" }, k => Assert.Contains("set_weight replaces", Reason(match, $"{Set}.{k}")));
        Assert.Contains("PEFT's DoRA magnitude", Reason(match, "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_q.lora_magnitude_vector"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    private static (Dictionary<string, IReadOnlyList<long>> UNet, Dictionary<string, IReadOnlyList<long>> TextEncoder) Shapes()
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        return (
            checkpoint.Weights.Part(ModelPart.UNet).ToDictionary(p => p.Key, p => (IReadOnlyList<long>)p.Value.Shape),
            checkpoint.Weights.Part(ModelPart.TextEncoder).ToDictionary(p => p.Key, p => (IReadOnlyList<long>)p.Value.Shape));
    }

    private static LoraModule Module(LoraMatch match, string weight) => Assert.Single(match.Modules, m => m.Weight == weight);

    private static string Reason(LoraMatch match, string key) => Assert.Single(match.Unmatched, u => u.Key == key).Reason;

    // A float32 safetensors file whose tensors are filled with one value each.
    private string Write(Dictionary<string, (long[] Shape, float Value)> tensors)
    {
        Directory.CreateDirectory(_scratch);
        var path = Path.Combine(_scratch, "lora.safetensors");
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, (shape, _)) in tensors)
        {
            var bytes = 4 * shape.Aggregate(1L, (a, b) => a * b);
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = File.Create(path);
        Span<byte> buffer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, (ulong)json.Length);
        stream.Write(buffer);
        stream.Write(json);
        foreach (var (_, (shape, value)) in tensors)
        {
            for (var i = 0L; i < shape.Aggregate(1L, (a, b) => a * b); i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
                stream.Write(buffer[..4]);
            }
        }

        return path;
    }
}
