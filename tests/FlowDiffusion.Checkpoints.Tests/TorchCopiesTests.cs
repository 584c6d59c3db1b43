using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Embeddings;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Checkpoints.Upscale;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The test models saved by torch.save in the layouts people download them in (tools/reference/make_torch_copies.py:
/// Stable Diffusion's Lightning .ckpt, ControlNet 1.1's bare .pth, Real-ESRGAN's params_ema .pth, IP-Adapter's nested
/// .bin, AUTOMATIC1111's and diffusers' embeddings) read as their .safetensors originals: the same architectures, graphs built from the same
/// weights byte for byte, the same embedding vectors.
/// </summary>
public sealed class TorchCopiesTests
{
    private static readonly string Torch = Path.Combine(AppContext.BaseDirectory, "TestData", "torch");

    [Fact]
    public void A_lightning_ckpt_builds_the_graphs_of_its_safetensors_original()
    {
        using var ckpt = Sd1Checkpoint.Open(Path.Combine(Torch, "tiny-sd.ckpt"));
        using var original = Sd1Checkpoint.Open(Reference.LdmFile);
        Assert.Equal(original.UNet!.LevelChannels, ckpt.UNet!.LevelChannels);
        foreach (var part in new[] { Weights.ModelPart.UNet, Weights.ModelPart.TextEncoder, Weights.ModelPart.Vae })
        {
            Assert.Equal(original.Weights.Part(part).Keys.Order(StringComparer.Ordinal), ckpt.Weights.Part(part).Keys.Order(StringComparer.Ordinal));
        }

        // The source path names no file inside the graph: the weights are in it, so equal bytes are equal weights.
        Assert.Equal(
            UNetGraph.Build(original.Weights.Part(Weights.ModelPart.UNet), original.UNet!, "tiny").ToBytes(),
            UNetGraph.Build(ckpt.Weights.Part(Weights.ModelPart.UNet), ckpt.UNet!, "tiny").ToBytes());
    }

    [Fact]
    public void A_diffusers_folder_with_bin_weights_reads_as_its_safetensors_original()
    {
        // An older diffusers repository: unet/diffusion_pytorch_model.bin and text_encoder/pytorch_model.bin, beside a
        // safetensors VAE.
        var folder = Path.Combine(Path.GetTempPath(), "flowdiffusion-diffusers-bin-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var (sub, source, name) in new[] { ("unet", Path.Combine(Torch, "diffusers-unet.bin"), "diffusion_pytorch_model.bin"),
                ("text_encoder", Path.Combine(Torch, "diffusers-text-encoder.bin"), "pytorch_model.bin"),
                ("vae", Path.Combine(Reference.DiffusersFolder, "vae", "diffusion_pytorch_model.safetensors"), "diffusion_pytorch_model.safetensors") })
            {
                Directory.CreateDirectory(Path.Combine(folder, sub));
                File.Copy(source, Path.Combine(folder, sub, name));
            }

            Assert.True(Export.CheckpointCache.IsCheckpoint(folder));
            // The disk check before converting counts the .bin weights as it counts safetensors.
            Assert.Equal(Export.ConversionLimits.BytesWritten(Reference.DiffusersFolder), Export.ConversionLimits.BytesWritten(folder));
            using var bin = Sd1Checkpoint.Open(folder);
            using var original = Sd1Checkpoint.Open(Reference.DiffusersFolder);
            foreach (var part in new[] { Weights.ModelPart.UNet, Weights.ModelPart.TextEncoder, Weights.ModelPart.Vae })
            {
                AssertSameWeights(original.Weights.Part(part), bin.Weights.Part(part));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_controlnet_pth_builds_the_graph_of_its_safetensors_original()
    {
        using var pth = ControlNetCheckpoint.Open(Path.Combine(Torch, "control.pth"));
        using var original = ControlNetCheckpoint.Open(Path.Combine(Reference.Folder, "controlnet", "control-ldm-fp16.safetensors"));
        AssertSameWeights(original.Tensors, pth.Tensors);
    }

    [Fact]
    public void A_real_esrgan_pth_builds_its_params_ema_network()
    {
        using var pth = RrdbNetCheckpoint.Open(Path.Combine(Torch, "rrdb-x4.pth"));
        using var original = RrdbNetCheckpoint.Open(Path.Combine(AppContext.BaseDirectory, "TestData", "esrgan", "rrdb-x4.safetensors"));
        Assert.Equal(original.Architecture, pth.Architecture);
        AssertSameWeights(original.Tensors, pth.Tensors);
    }

    [Fact]
    public void An_ip_adapter_bin_reads_as_its_safetensors_original()
    {
        using var bin = IpAdapterCheckpoint.Open(Path.Combine(Torch, "ip-adapter.bin"));
        using var original = IpAdapterCheckpoint.Open(Path.Combine(Reference.Folder, "ipadapter", "ip-adapter.safetensors"));
        Assert.Equal(original.Architecture with { LayerChannels = [] }, bin.Architecture with { LayerChannels = [] });
        Assert.Equal(original.Architecture.LayerChannels, bin.Architecture.LayerChannels);
        Assert.Equal(original.ProcessorIndices, bin.ProcessorIndices);
        AssertSameWeights(original.Tensors, bin.Tensors);
    }

    [Fact]
    public void A1111_and_diffusers_embedding_files_give_the_vectors_of_their_safetensors_originals()
    {
        var embeddings = Path.Combine(Reference.Folder, "embeddings");
        var a1111 = TextualInversionReader.Read(Path.Combine(Torch, "sp.pt"), 64);
        Assert.Equal(3, a1111.Count);
        Assert.Equal(TextualInversionReader.Read(Path.Combine(embeddings, "sp.safetensors"), 64).Vectors, a1111.Vectors);
        var diffusers = TextualInversionReader.Read(Path.Combine(Torch, "one.bin"), 64);
        Assert.Equal(1, diffusers.Count);
        Assert.Equal(TextualInversionReader.Read(Path.Combine(embeddings, "one-clip-l.safetensors"), 64).Vectors, diffusers.Vectors);
    }

    // The graphs name their source file, so the weights they are built from are compared: the same names, shapes and values.
    private static void AssertSameWeights(IReadOnlyDictionary<string, Weights.StoredTensor> expected, IReadOnlyDictionary<string, Weights.StoredTensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(tensor.Shape, actual[name].Shape);
            if (FlowDiffusion.Formats.Safetensors.SafetensorsDTypes.ConvertsToFloat32(tensor.Tensor.DType))
            {
                Assert.Equal(tensor.ReadFloat32(), actual[name].ReadFloat32());
            }
            else
            {
                Assert.Equal(tensor.File.GetBytes(tensor.Tensor).ToArray(), actual[name].File.GetBytes(actual[name].Tensor).ToArray());
            }
        }
    }
}
