using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// SDXL IP-Adapters (tools/reference/make_sdxl_ipadapter.py: a base and a Plus adapter for the tiny SDXL checkpoint's 8
/// cross-attention layers) through the IP-adapted SDXL UNet graph, against torch, on ONNX Runtime's CPU provider.
/// </summary>
public sealed class SdxlIpAdapterReferenceTests
{
    private static string Folder => Path.Combine(SdxlReference.Folder, "ipadapter");

    private static string VisionReference => Path.Combine(Reference.Folder, "ipadapter");

    [Fact]
    public void The_layer_order_is_diffusers_attention_processor_order_and_SDXL_base_has_70_layers()
    {
        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        using var adapter = IpAdapterCheckpoint.Open(Path.Combine(Folder, "ip-adapter_sdxl.safetensors"));
        Assert.Equal([1, 3, 5, 7, 9, 11, 13, 15], adapter.ProcessorIndices);
        // down_blocks.1 (depth 2), up_blocks.0's two transformers (depth 2 each), the middle (depth 2): 32 wide, as the adapter's to_k_ip.
        Assert.Equal(Enumerable.Repeat(32, 8), IpAdapterLayers.Channels(checkpoint.UNet!));
        Assert.Equal(IpAdapterLayers.Channels(checkpoint.UNet!), adapter.Architecture.LayerChannels);

        // SDXL 1.0 base: levels 320/640/1280, depths 0/2/10, two blocks per level: 4 + 20 down, 30 + 6 up, 10 middle.
        var sdxl = checkpoint.UNet! with { LevelChannels = [320, 640, 1280], TransformerDepths = [0, 2, 10], AttentionLevels = [false, true, true], ResBlocksPerLevel = 2, MiddleTransformerDepth = 10 };
        var channels = IpAdapterLayers.Channels(sdxl);
        Assert.Equal(70, channels.Count);
        Assert.Equal([.. Enumerable.Repeat(640, 4), .. Enumerable.Repeat(1280, 20), .. Enumerable.Repeat(1280, 30), .. Enumerable.Repeat(640, 6), .. Enumerable.Repeat(1280, 10)], channels);
    }

    [Theory]
    [InlineData("ip-adapter_sdxl.safetensors", "base", 0.7f)]
    [InlineData("ip-adapter-plus_sdxl.safetensors", "plus", 0.6f)]
    public void The_IP_adapted_SDXL_UNet_matches_torch_and_keeps_text_embeds_and_time_ids(string file, string kind, float scale)
    {
        using var adapter = IpAdapterCheckpoint.Open(Path.Combine(Folder, file));
        var input = kind == "plus"
            ? (IpAdapterGraph.HiddenStates, Vision("plus-reference.safetensors", "a.penultimate_hidden_states"))
            : (IpAdapterGraph.ImageEmbeds, Vision("reference.safetensors", "a.image_embeds"));
        var image = Reference.Run(adapter.BuildGraph().ToBytes(), (input.Item1, Reference.Floats(input.Item2)));
        Reference.AssertClose(Tensor($"{kind}.tokens"), image[IpAdapterGraph.Tokens], 1e-4, "ip_tokens");

        using var checkpoint = SdxlCheckpoint.Open(SdxlReference.File);
        var graph = checkpoint.BuildIpAdaptedUNet().ToBytes();
        using (var session = new InferenceSession(graph))
        {
            Assert.Contains("text_embeds", session.InputNames);
            Assert.Contains("time_ids", session.InputNames);
            Assert.Contains(IpAdapterLayers.Key(7), session.InputNames);
            Assert.DoesNotContain(IpAdapterLayers.Key(8), session.InputNames);
        }

        var adapted = Run(graph, image, scale);
        Reference.AssertClose(Tensor($"{kind}.adapted"), adapted, 1e-4, $"out_sample with the {kind} adapter at {scale}");
        Assert.True(adapted.Values.Zip(Tensor("unet.plain").Values, (x, y) => Math.Abs(x - y)).Max() > 0.1, "the image must change the prediction");
        Reference.AssertClose(Tensor("unet.plain"), Run(graph, image, 0f), 1e-4, "out_sample at scale 0");
    }

    private static (float[] Values, long[] Shape) Run(byte[] graph, Dictionary<string, (float[] Values, long[] Shape)> adapter, float scale)
    {
        var inputs = new List<(string, OrtValue)>
        {
            ("sample", Reference.Floats(Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(Tensor("unet.time_ids"))),
            (IpAdapterLayers.Scale, Reference.Floats((Enumerable.Repeat(scale, 8).ToArray(), [1, 8]))),
        };
        for (var layer = 0; layer < 8; layer++)
        {
            inputs.Add((IpAdapterLayers.Key(layer), Reference.Floats(adapter[IpAdapterLayers.Key(layer)])));
            inputs.Add((IpAdapterLayers.Value(layer), Reference.Floats(adapter[IpAdapterLayers.Value(layer)])));
        }

        return Reference.Run(graph, [.. inputs])["out_sample"];
    }

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static (float[] Values, long[] Shape) Vision(string file, string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(VisionReference, file));
        return (reference.ReadFloat32(name), reference.Get(name).Shape);
    }
}
