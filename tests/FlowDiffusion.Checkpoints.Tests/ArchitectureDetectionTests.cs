using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

public sealed class ArchitectureDetectionTests
{
    public static TheoryData<string> Layouts => new() { "ldm", "diffusers" };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Architecture_is_read_from_tensor_names_and_shapes_in_both_layouts(string layout)
    {
        // architecture.json (written by the torch generator): UNet channel_mult (2,1) at 32, 1 block, attention at level 1 only,
        // context 64; CLIP vocab 768 (room for the shipped test vocabularies), width 64, 2 layers; VAE ch 32, ch_mult (2,1,1,1), 1 block.
        using var checkpoint = Sd1Checkpoint.Open(layout == "ldm" ? Reference.LdmFile : Reference.DiffusersFolder);
        var unet = checkpoint.UNet!;
        Assert.Equal(4, unet.InChannels);
        Assert.Equal(32, unet.ModelChannels);
        Assert.Equal([64, 32], unet.LevelChannels);
        Assert.Equal(1, unet.ResBlocksPerLevel);
        Assert.Equal([false, true], unet.AttentionLevels);
        Assert.Equal(64, unet.ContextWidth);
        Assert.Equal(UNetArchitecture.ConventionalHeads, unet.Heads);
        Assert.Equal(new TextEncoderArchitecture(768, 77, 64, 2, 1), checkpoint.TextEncoder);
        var vae = checkpoint.Vae!;
        Assert.Equal([64, 32, 32, 32], vae.LevelChannels);
        Assert.Equal(1, vae.ResBlocksPerLevel);
        Assert.Equal(4, vae.LatentChannels);
        Assert.Equal(8, vae.Factor);
    }

    [Fact]
    public void Clip_heads_follow_the_64_wide_convention_of_clip_vit_l()
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        Assert.Equal(1, checkpoint.TextEncoder!.Heads); // width 64 / 64
        using var stated = Sd1Checkpoint.Open(Reference.LdmFile, textEncoderHeads: 2);
        Assert.Equal(2, stated.TextEncoder!.Heads);
    }

    [Fact]
    public void Ldm_keys_map_to_diffusers_names_level_by_level()
    {
        using var weights = CheckpointWeights.OpenSingleFile(Reference.LdmFile);
        using var diffusers = CheckpointWeights.OpenDiffusersFolder(Reference.DiffusersFolder);
        foreach (var part in new[] { ModelPart.UNet, ModelPart.TextEncoder, ModelPart.Vae })
        {
            Assert.Equal(diffusers.Part(part).Keys.Order(), weights.Part(part).Keys.Order());
            foreach (var (name, tensor) in weights.Part(part))
            {
                Assert.Equal(diffusers.Part(part)[name].Shape, tensor.Shape);
            }
        }

        Assert.Equal("model.diffusion_model.output_blocks.1.2.conv.weight", weights.Part(ModelPart.UNet)["up_blocks.0.upsamplers.0.conv.weight"].Tensor.Name);
        Assert.Equal("first_stage_model.decoder.up.3.block.0.conv1.weight", weights.Part(ModelPart.Vae)["decoder.up_blocks.0.resnets.0.conv1.weight"].Tensor.Name);
    }

    [Fact]
    public void A_safetensors_file_that_is_no_sd_checkpoint_is_refused_by_name()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-notsd-" + Guid.NewGuid().ToString("N") + ".safetensors");
        var header = """{"lora_unet_down_blocks_0.alpha":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"""u8.ToArray();
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, 0, 0, 128, 63]);
        var e = Assert.Throws<CheckpointException>(() => Sd1Checkpoint.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not an SD single-file checkpoint", e.Message);
        Assert.Throws<SafetensorsException>(() => Sd1Checkpoint.Open(Path.Combine(Reference.Folder, "architecture.json")));
    }
}
