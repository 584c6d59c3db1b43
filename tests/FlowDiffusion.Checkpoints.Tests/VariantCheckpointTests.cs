using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

public sealed class VariantCheckpointTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("flowdiffusion-variants-").FullName;

    [Fact]
    public void Float32_checkpoint_matches_torch_within_1e4_in_every_part()
    {
        var path = Path.Combine(_scratch, "ldm-fp32.safetensors");
        Float32Checkpoint.Write(Reference.LdmFile, path);
        using var checkpoint = Sd1Checkpoint.Open(path, textEncoderHeads: 2);
        Assert.Equal(Formats.Safetensors.SafetensorsDType.Float32, checkpoint.Weights.Part(Weights.ModelPart.UNet)["conv_in.weight"].Tensor.DType);
        var unet = Reference.Run(
            checkpoint.BuildUNet().ToBytes(),
            ("sample", Reference.Floats(Reference.Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Reference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Reference.Tensor("unet.encoder_hidden_states"))));
        Reference.AssertClose(Reference.Tensor("unet.out_sample"), unet["out_sample"], 1e-4, "out_sample");
        var text = Reference.Run(checkpoint.BuildTextEncoder().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(Reference.InputIds(), [2, 77])));
        Reference.AssertClose(Reference.Tensor("text_encoder.last_hidden_state"), text["last_hidden_state"], 1e-4, "last_hidden_state");
        var decoded = Reference.Run(checkpoint.BuildVaeDecoder().ToBytes(), ("latent_sample", Reference.Floats(Reference.Tensor("vae.latent_sample"))));
        Reference.AssertClose(Reference.Tensor("vae.decoded"), decoded["sample"], 1e-4, "decoded");
    }

    [Fact]
    public void Nine_channel_inpainting_unet_is_read_from_its_first_convolution()
    {
        var path = Path.Combine(_scratch, "inpaint.safetensors");
        var random = new Random(9);
        var weight = Enumerable.Range(0, 32 * 9 * 9).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f).ToArray();
        Float32Checkpoint.Write(Reference.LdmFile, path, new Dictionary<string, (float[], long[])> { ["model.diffusion_model.input_blocks.0.0.weight"] = (weight, [32, 9, 3, 3]) });
        using var checkpoint = Sd1Checkpoint.Open(path);
        Assert.Equal(9, checkpoint.UNet!.InChannels);
        Assert.Equal(4, checkpoint.UNet.OutChannels);
        var sample = Enumerable.Range(0, 2 * 9 * 8 * 8).Select(i => MathF.Sin(i)).ToArray();
        var outputs = Reference.Run(
            checkpoint.BuildUNet().ToBytes(),
            ("sample", OrtValue.CreateTensorValueFromMemory(sample, [2, 9, 8, 8])),
            ("timestep", Reference.Floats(Reference.Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Reference.Tensor("unet.encoder_hidden_states"))));
        Assert.Equal([2L, 4, 8, 8], outputs["out_sample"].Shape);
        Assert.All(outputs["out_sample"].Values, v => Assert.True(float.IsFinite(v)));
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);
}
