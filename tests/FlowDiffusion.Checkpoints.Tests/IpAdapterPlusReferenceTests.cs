using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.IpAdapter;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The tiny IP-Adapter Plus (tools/reference/make_ipadapter_plus.py: a Resampler over the tiny CLIP tower's penultimate
/// hidden states) against torch, on ONNX Runtime's CPU provider.
/// </summary>
public sealed class IpAdapterPlusReferenceTests
{
    private static string Folder => Path.Combine(Reference.Folder, "ipadapter");

    private static string PlusFile => Path.Combine(Folder, "ip-adapter-plus.safetensors");

    [Fact]
    public void The_Resampler_is_detected_from_the_released_key_layout()
    {
        using var adapter = IpAdapterCheckpoint.Open(PlusFile);
        var arch = adapter.Architecture;
        Assert.True(arch.TakesHiddenStates);
        Assert.Equal(new ResamplerArchitecture(Width: 48, Depth: 2, Heads: 2, FeedForwardWidth: 192), arch.Resampler);
        Assert.Equal((64, 16, 64), (arch.EmbeddingWidth, arch.Tokens, arch.ContextWidth));
        Assert.Equal([1, 3, 5, 7], adapter.ProcessorIndices);
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        Assert.Equal(IpAdapterLayers.Channels(checkpoint.UNet!), arch.LayerChannels);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("b")]
    public void The_towers_penultimate_hidden_states_match_torch(string image)
    {
        using var vision = ClipVisionCheckpoint.Open(Path.Combine(Folder, "clip-vision"));
        var outputs = Reference.Run(vision.BuildGraph().ToBytes(), (ClipVisionGraph.PixelValues, Reference.Floats(Base($"{image}.pixel_values"))));
        Reference.AssertClose(Plus($"{image}.penultimate_hidden_states"), outputs[ClipVisionGraph.Penultimate], 1e-4, "penultimate_hidden_states");
        var zero = Reference.Run(vision.BuildGraph().ToBytes(), (ClipVisionGraph.PixelValues, Reference.Floats((new float[3 * 32 * 32], [1, 3, 32, 32]))));
        Reference.AssertClose(Plus("zero.penultimate_hidden_states"), zero[ClipVisionGraph.Penultimate], 1e-4, "penultimate_hidden_states of zero pixels");
    }

    [Fact]
    public void Resampler_tokens_keys_and_values_match_torch()
    {
        using var adapter = IpAdapterCheckpoint.Open(PlusFile);
        var graph = adapter.BuildGraph().ToBytes();
        using (var session = new InferenceSession(graph))
        {
            Assert.Equal([IpAdapterGraph.HiddenStates], session.InputNames);
        }

        var outputs = Reference.Run(graph, (IpAdapterGraph.HiddenStates, Reference.Floats(Plus("a.penultimate_hidden_states"))));
        Reference.AssertClose(Plus("a.tokens"), outputs[IpAdapterGraph.Tokens], 1e-4, "ip_tokens");
        for (var layer = 0; layer < 4; layer++)
        {
            Reference.AssertClose(Plus($"a.ip_key_{layer}"), outputs[IpAdapterLayers.Key(layer)], 1e-4, $"ip_key_{layer}");
            Reference.AssertClose(Plus($"a.ip_value_{layer}"), outputs[IpAdapterLayers.Value(layer)], 1e-4, $"ip_value_{layer}");
        }

        var zero = Reference.Run(graph, (IpAdapterGraph.HiddenStates, Reference.Floats(Plus("zero.penultimate_hidden_states"))));
        Reference.AssertClose(Plus("zero.tokens"), zero[IpAdapterGraph.Tokens], 1e-4, "ip_tokens of the zero image");
    }

    [Fact]
    public void The_IP_adapted_UNet_with_Plus_tokens_matches_torch()
    {
        using var adapter = IpAdapterCheckpoint.Open(PlusFile);
        var graph = adapter.BuildGraph().ToBytes();
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        var unet = checkpoint.BuildIpAdaptedUNet().ToBytes();
        var image = Reference.Run(graph, (IpAdapterGraph.HiddenStates, Reference.Floats(Plus("a.penultimate_hidden_states"))));
        var adapted = IpAdapterReferenceTests.RunUNet(unet, image, 0.7f);
        Reference.AssertClose(Plus("e2e.adapted"), adapted, 1e-4, "out_sample with image a at 0.7");
        Assert.True(adapted.Values.Zip(Base("e2e.plain").Values, (x, y) => Math.Abs(x - y)).Max() > 0.1, "the image must change the prediction");
        var zero = Reference.Run(graph, (IpAdapterGraph.HiddenStates, Reference.Floats(Plus("zero.penultimate_hidden_states"))));
        Reference.AssertClose(Plus("e2e.uncond"), IpAdapterReferenceTests.RunUNet(unet, zero, 0.7f), 1e-4, "out_sample with the zero image at 0.7");

        // A batch of two images' hidden states gives [2, 16, c] keys and values: read as [1, 32, c], one prompt of both.
        var (a, b) = (Plus("a.penultimate_hidden_states").Values, Plus("b.penultimate_hidden_states").Values);
        var both = Reference.Run(graph, (IpAdapterGraph.HiddenStates, Reference.Floats(([.. a, .. b], [2, 17, 64]))));
        var prompt = both.ToDictionary(p => p.Key, p => (p.Value.Values, new long[] { 1, 32, p.Value.Shape[2] }));
        Reference.AssertClose(Plus("e2e.two_images"), IpAdapterReferenceTests.RunUNet(unet, prompt, 0.5f), 1e-4, "out_sample with both images at 0.5");
    }

    [Fact]
    public void An_MLP_projection_adapter_is_refused_naming_what_is_supported()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-faceid-" + Guid.NewGuid().ToString("N") + ".safetensors");
        try
        {
            SafetensorsWriter.WriteFloat32(path, [
                ("image_proj.proj.0.weight", [4, 4], new float[16]), ("image_proj.proj.2.weight", [8, 4], new float[32]), ("image_proj.norm.weight", [4], new float[4]),
                ("ip_adapter.1.to_k_ip.weight", [8, 4], new float[32]), ("ip_adapter.1.to_v_ip.weight", [8, 4], new float[32])]);
            var error = Assert.Throws<CheckpointException>(() => IpAdapterCheckpoint.Open(path));
            Assert.Contains(Path.GetFileName(path), error.Message);
            Assert.Contains("MLP image projection", error.Message);
            Assert.Contains("Plus", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (float[] Values, long[] Shape) Plus(string name) => Read("plus-reference.safetensors", name);

    private static (float[] Values, long[] Shape) Base(string name) => Read("reference.safetensors", name);

    private static (float[] Values, long[] Shape) Read(string file, string name)
    {
        using var reference = SafetensorsFile.Open(Path.Combine(Folder, file));
        return (reference.ReadFloat32(name), reference.Get(name).Shape);
    }
}
