using FlowDiffusion.Checkpoints.Catalog;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The tiny InstructPix2Pix checkpoint (tools/reference/make_ip2p.py: sd1-tiny with its first convolution widened to 8
/// input channels): read as an 8-channel UNet, labelled so in the catalog, and its converted UNet's prediction of the latents
/// and image latents concatenated against torch.
/// </summary>
public sealed class InstructPix2PixReferenceTests
{
    private static string Folder => Path.Combine(Reference.Folder, "ip2p");

    private static string LdmFile => Path.Combine(Folder, "ldm-fp16.safetensors");

    [Fact]
    public void Eight_channel_unet_prediction_of_latents_and_image_latents_matches_torch_within_1e4()
    {
        using var checkpoint = Sd1Checkpoint.Open(LdmFile);
        Assert.Equal((8, 4), (checkpoint.UNet!.InChannels, checkpoint.UNet.OutChannels));
        var unet = checkpoint.BuildUNet().ToBytes();
        foreach (var (image, expected) in new[] { ("unet.image_latent", "unet.out_sample"), (null, "unet.zero_image_out_sample") })
        {
            var sample = Tensor("unet.sample").Values;
            var latent = image is null ? new float[sample.Length] : Tensor(image).Values;
            var outputs = Reference.Run(
                unet,
                ("sample", OrtValue.CreateTensorValueFromMemory(Concat(sample, latent, 2, 4 * 8 * 8), [2, 8, 8, 8])),
                ("timestep", Reference.Floats(Tensor("unet.timestep"))),
                ("encoder_hidden_states", Reference.Floats(Tensor("unet.encoder_hidden_states"))));
            Reference.AssertClose(Tensor(expected), outputs["out_sample"], 1e-4, expected);
        }
    }

    [Fact]
    public void Catalog_labels_the_checkpoint_instruct_pix2pix()
    {
        var entry = ModelCatalog.Describe(LdmFile, "ip2p.safetensors")!;
        Assert.Contains("8 ch (instruct-pix2pix)", entry.Architecture, StringComparison.Ordinal);
        Assert.True(entry.IsLoadable);
    }

    [Fact]
    public void The_default_model_pick_passes_over_an_instruct_pix2pix_checkpoint()
    {
        var home = Directory.CreateTempSubdirectory("flowdiffusion-ip2p-default-").FullName;
        try
        {
            var checkpoints = Directory.CreateDirectory(Path.Combine(home, "models", "checkpoints")).FullName;
            File.Copy(Reference.LdmFile, Path.Combine(checkpoints, "older-sd1.safetensors"));
            File.SetLastWriteTimeUtc(Path.Combine(checkpoints, "older-sd1.safetensors"), DateTime.UtcNow.AddHours(-1));
            File.Copy(LdmFile, Path.Combine(checkpoints, "newer-ip2p.safetensors"));

            var pick = DefaultModel.Pick(Path.Combine(home, "models"), "models/checkpoints/v1-5-pruned-emaonly.safetensors", home);

            Assert.Equal("models/checkpoints/older-sd1.safetensors", pick?.Path);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    // Per batch item: the latents' channels, then the image latents'.
    internal static float[] Concat(float[] latents, float[] image, int batch, int item)
    {
        var result = new float[latents.Length + image.Length];
        for (var b = 0; b < batch; b++)
        {
            latents.AsSpan(b * item, item).CopyTo(result.AsSpan(2 * b * item));
            image.AsSpan(b * item, item).CopyTo(result.AsSpan((2 * b + 1) * item));
        }

        return result;
    }

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }
}
