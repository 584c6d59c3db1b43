using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The tiny CLIP image tower, the tiny IP-Adapter and the IP-adapted tiny UNet (tools/reference/make_ipadapter.py) against
/// torch, on ONNX Runtime's CPU provider.
/// </summary>
public sealed class IpAdapterReferenceTests
{
    private static string Folder => Path.Combine(Reference.Folder, "ipadapter");

    private static string VisionFolder => Path.Combine(Folder, "clip-vision");

    private static string AdapterFile => Path.Combine(Folder, "ip-adapter.safetensors");

    [Fact]
    public void The_image_tower_is_read_from_the_tensors_and_the_folders_config()
    {
        using var vision = ClipVisionCheckpoint.Open(VisionFolder);
        Assert.Equal(new ClipVisionArchitecture(64, 2, 2, 8, 32, 48, ExactGelu: true), vision.Architecture);
        Assert.Equal(17, vision.Architecture.Tokens);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void Image_embeds_and_hidden_states_match_torch(string image)
    {
        using var vision = ClipVisionCheckpoint.Open(VisionFolder);
        var outputs = Reference.Run(vision.BuildGraph().ToBytes(), (ClipVisionGraph.PixelValues, Reference.Floats(Tensor($"{image}.pixel_values"))));
        Reference.AssertClose(Tensor($"{image}.image_embeds"), outputs[ClipVisionGraph.ImageEmbeds], 1e-4, "image_embeds");
        Reference.AssertClose(Tensor($"{image}.last_hidden_state"), outputs["last_hidden_state"], 1e-4, "last_hidden_state");
    }

    [Fact]
    public void The_adapter_is_read_from_the_released_key_layout()
    {
        using var adapter = IpAdapterCheckpoint.Open(AdapterFile);
        Assert.Equal([1, 3, 5, 7], adapter.ProcessorIndices);
        Assert.Equal(48, adapter.Architecture.EmbeddingWidth);
        Assert.Equal(4, adapter.Architecture.Tokens);
        Assert.Equal(64, adapter.Architecture.ContextWidth);
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        Assert.Equal(IpAdapterLayers.Channels(checkpoint.UNet!), adapter.Architecture.LayerChannels);
    }

    [Fact]
    public void Adapter_tokens_keys_and_values_match_torch()
    {
        using var adapter = IpAdapterCheckpoint.Open(AdapterFile);
        var outputs = Reference.Run(adapter.BuildGraph().ToBytes(), (IpAdapterGraph.ImageEmbeds, Reference.Floats(Tensor("a.image_embeds"))));
        Reference.AssertClose(Tensor("a.tokens"), outputs[IpAdapterGraph.Tokens], 1e-4, "ip_tokens");
        for (var layer = 0; layer < 4; layer++)
        {
            Reference.AssertClose(Tensor($"a.ip_key_{layer}"), outputs[IpAdapterLayers.Key(layer)], 1e-4, $"ip_key_{layer}");
            Reference.AssertClose(Tensor($"a.ip_value_{layer}"), outputs[IpAdapterLayers.Value(layer)], 1e-4, $"ip_value_{layer}");
        }
    }

    [Fact]
    public void The_IP_adapted_UNet_matches_torch_and_scale_zero_gives_the_plain_UNet()
    {
        using var adapter = IpAdapterCheckpoint.Open(AdapterFile);
        var adapterGraph = adapter.BuildGraph().ToBytes();
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var unet = checkpoint.BuildIpAdaptedUNet().ToBytes();
        var image = Reference.Run(adapterGraph, (IpAdapterGraph.ImageEmbeds, Reference.Floats(Tensor("a.image_embeds"))));
        var adapted = RunUNet(unet, image, 0.7f);
        Reference.AssertClose(Tensor("e2e.adapted"), adapted, 1e-4, "out_sample at scale 0.7");
        Assert.True(MaxDifference(Tensor("e2e.plain").Values, adapted.Values) > 0.1, "the image must change the prediction");

        // The unconditional side: the adapter's tokens of zero image embeds, as diffusers and ComfyUI give the negative.
        var zeros = Reference.Run(adapterGraph, (IpAdapterGraph.ImageEmbeds, Reference.Floats((new float[48], [1, 48]))));
        Reference.AssertClose(Tensor("uncond.tokens"), zeros[IpAdapterGraph.Tokens], 1e-4, "tokens of zero embeds");
        Reference.AssertClose(Tensor("e2e.uncond"), RunUNet(unet, zeros, 0.7f), 1e-4, "out_sample with the zero-embed tokens");

        Reference.AssertClose(Tensor("e2e.plain"), RunUNet(unet, image, 0f), 1e-5, "out_sample at scale 0");
        using var session = new InferenceSession(checkpoint.BuildUNet().ToBytes());
        Assert.Equal(["sample", "timestep", "encoder_hidden_states"], session.InputNames);
    }

    [Fact]
    public void Two_images_embedded_as_a_batch_read_as_one_prompt_of_both_images_tokens()
    {
        // The adapter's outputs for a batch of two, [2, 4, channels] row-major, are the [1, 8, channels] keys and values of
        // one prompt holding both images' tokens in order (diffusers' several images for one adapter).
        using var adapter = IpAdapterCheckpoint.Open(AdapterFile);
        var (a, b) = (Tensor("a.image_embeds").Values, Tensor("b.image_embeds").Values);
        var both = Reference.Run(adapter.BuildGraph().ToBytes(), (IpAdapterGraph.ImageEmbeds, Reference.Floats(([.. a, .. b], [2, 48]))));
        var prompt = both.ToDictionary(p => p.Key, p => (p.Value.Values, new long[] { 1, 8, p.Value.Shape[2] }));
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        Reference.AssertClose(Tensor("e2e.two_images"), RunUNet(checkpoint.BuildIpAdaptedUNet().ToBytes(), prompt, 0.5f), 1e-4, "out_sample with both images at 0.5");
    }

    [Fact]
    public void An_exported_folder_has_an_IP_adapted_UNet_reading_the_plain_graphs_weight_file()
    {
        var scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-ipadapted-" + Guid.NewGuid().ToString("N"));
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

            var graph = Path.Combine(target, "unet", Export.DiffusersOnnxFolder.IpAdaptedUNetFile);
            Assert.True(new FileInfo(graph).Length < 400_000, $"the IP-adapted graph should hold no weights ({new FileInfo(graph).Length} bytes)");
            using var adapter = IpAdapterCheckpoint.Open(AdapterFile);
            var image = Reference.Run(adapter.BuildGraph().ToBytes(), (IpAdapterGraph.ImageEmbeds, Reference.Floats(Tensor("a.image_embeds"))));
            Reference.AssertClose(Tensor("e2e.adapted"), RunUNet(File.ReadAllBytes(graph), image, 0.7f, Path.Combine(target, "unet")), 1e-4, "ipadapter.onnx out_sample");
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
    public void A_ControlNet_and_a_non_tower_are_refused_naming_the_file()
    {
        var control = Assert.Throws<CheckpointException>(() => IpAdapterCheckpoint.Open(Path.Combine(Reference.Folder, "controlnet", "control-ldm-fp16.safetensors")));
        Assert.Contains("control-ldm-fp16.safetensors", control.Message);
        Assert.Contains("not an IP-Adapter", control.Message);
        var vision = Assert.Throws<CheckpointException>(() => ClipVisionCheckpoint.Open(AdapterFile));
        Assert.Contains("ip-adapter.safetensors", vision.Message);
        Assert.Contains("not a CLIP vision model", vision.Message);
    }

    internal static (float[] Values, long[] Shape) RunUNet(byte[] model, Dictionary<string, (float[] Values, long[] Shape)> adapter, float scale, string? folder = null)
    {
        var inputs = new List<(string, OrtValue)>
        {
            ("sample", Reference.Floats(Tensor("e2e.sample"))),
            ("timestep", Reference.Floats(Tensor("e2e.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("e2e.encoder_hidden_states"))),
            (IpAdapterLayers.Scale, Reference.Floats(([scale, scale, scale, scale], [1, 4]))),
        };
        for (var layer = 0; layer < 4; layer++)
        {
            inputs.Add((IpAdapterLayers.Key(layer), Reference.Floats(adapter[IpAdapterLayers.Key(layer)])));
            inputs.Add((IpAdapterLayers.Value(layer), Reference.Floats(adapter[IpAdapterLayers.Value(layer)])));
        }

        if (folder is null)
        {
            return Reference.Run(model, [.. inputs])["out_sample"];
        }

        // A graph with external data loads from its folder.
        var path = Path.Combine(folder, Export.DiffusersOnnxFolder.IpAdaptedUNetFile);
        using var session = new InferenceSession(path);
        using var results = session.Run(new RunOptions(), inputs.Select(i => i.Item1).ToArray(), inputs.Select(i => i.Item2).ToArray(), ["out_sample"]);
        var output = (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape);
        inputs.ForEach(i => i.Item2.Dispose());
        return output;
    }

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => (double)Math.Abs(x - y)).Max();

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }
}
