using FlowDiffusion.Checkpoints.Upscale;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// Tiny ESRGAN generators (tools/reference/make_esrgan.py, written from the ESRGAN paper) in both key layouts, converted to
/// ONNX and run on ONNX Runtime's CPU provider, against torch.
/// </summary>
public sealed class RrdbNetReferenceTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "esrgan");

    [Theory]
    [InlineData("rrdb-x4.safetensors", "real-esrgan", "image", "x4", 4)]
    [InlineData("rrdb-x4-old.safetensors", "esrgan", "image", "x4", 4)]
    [InlineData("rrdb-x8-old.safetensors", "esrgan", "image", "x8", 8)]
    [InlineData("rrdb-x2-unshuffle.safetensors", "real-esrgan", "image", "x2", 2)]
    [InlineData("rrdb-x2-unshuffle.safetensors", "real-esrgan", "image_odd", "x2_odd", 2)]
    public void Upscaled_image_matches_torch(string file, string layout, string input, string expected, int scale)
    {
        using var network = RrdbNetCheckpoint.Open(Path.Combine(Folder, file));
        Assert.Equal(layout, network.Layout);
        Assert.Equal(scale, network.Architecture.Scale);
        var output = Reference.Run(network.BuildGraph().ToBytes(), ("image", Reference.Floats(Tensor(input))))["upscaled"];
        Reference.AssertClose(Tensor(expected), output, 1e-4, $"{file} on {input}");
    }

    [Fact]
    public void Architecture_is_read_from_the_keys_of_either_layout()
    {
        using var x4 = RrdbNetCheckpoint.Open(Path.Combine(Folder, "rrdb-x4.safetensors"));
        Assert.Equal(new RrdbNetArchitecture(3, 3, 8, 4, 2, 2, 1), x4.Architecture);
        using var old = RrdbNetCheckpoint.Open(Path.Combine(Folder, "rrdb-x4-old.safetensors"));
        Assert.Equal(x4.Architecture, old.Architecture);
        using var x8 = RrdbNetCheckpoint.Open(Path.Combine(Folder, "rrdb-x8-old.safetensors"));
        Assert.Equal(new RrdbNetArchitecture(3, 3, 8, 4, 1, 3, 1), x8.Architecture);
        using var x2 = RrdbNetCheckpoint.Open(Path.Combine(Folder, "rrdb-x2-unshuffle.safetensors"));
        Assert.Equal(new RrdbNetArchitecture(3, 3, 8, 4, 2, 2, 2), x2.Architecture);
    }

    [Fact]
    public void A_file_of_another_network_is_refused_by_name()
    {
        var e = Assert.Throws<CheckpointException>(() => RrdbNetCheckpoint.Open(Reference.LdmFile));
        Assert.Contains("ldm-fp16.safetensors", e.Message);
        Assert.Contains("not an RRDBNet", e.Message);
    }

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }
}
