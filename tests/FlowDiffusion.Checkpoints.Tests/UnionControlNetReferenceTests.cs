using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The tiny SDXL union ControlNet (tools/reference/make_sdxl_union_controlnet.py: xinsir's ControlNet++ layout with 8
/// control types) against torch restating ComfyUI's union forward: the control type's embedding joins the time embedding,
/// and with a type the embedded control image is shifted by the transformer's output for its mean and the type.
/// </summary>
public sealed class UnionControlNetReferenceTests
{
    private static string Folder => Path.Combine(SdxlReference.Folder, "controlnet");

    private static string Union => Path.Combine(Folder, "union");

    private const string ControlType = "control_type";

    public static TheoryData<string, int?> Types => new() { { "auto", null }, { "canny", 3 }, { "repaint", 7 } };

    [Theory]
    [MemberData(nameof(Types))]
    public void Union_residuals_match_torch_for_each_control_type(string name, int? type)
    {
        using var controlnet = ControlNetCheckpoint.Open(Union);
        var outputs = Run(controlnet.BuildGraph().ToBytes(), type);
        var names = ControlResiduals.Names(controlnet.Architecture.Encoder);
        Assert.Equal(names.Order(), outputs.Keys.Order());
        foreach (var residual in names)
        {
            Reference.AssertClose(Tensor($"{name}.{residual}"), outputs[residual], 1e-4, $"{name} {residual}");
        }
    }

    [Fact]
    public void The_types_give_different_residuals_and_auto_is_not_the_plain_hint()
    {
        using var controlnet = ControlNetCheckpoint.Open(Union);
        var graph = controlnet.BuildGraph().ToBytes();
        var auto = Run(graph, null)["down_block_0"].Values;
        var canny = Run(graph, 3)["down_block_0"].Values;
        var tile = Run(graph, 6)["down_block_0"].Values;
        Assert.True(Reference.MaxDifference(auto, canny) > 0.1, "canny must differ from auto");
        Assert.True(Reference.MaxDifference(canny, tile) > 0.1, "tile must differ from canny");
    }

    [Fact]
    public void The_union_parts_are_read_from_the_published_keys()
    {
        using var controlnet = ControlNetCheckpoint.Open(Union);
        Assert.Equal(new UnionControlArchitecture(8, 32, 256, 1), controlnet.Architecture.Union);
        using var session = new InferenceSession(controlnet.BuildGraph().ToBytes());
        Assert.Equal(["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "controlnet_cond", ControlType], session.InputNames);
        Assert.Equal([8], session.InputMetadata[ControlType].Dimensions);

        using var plain = ControlNetCheckpoint.Open(Path.Combine(Folder, "diffusers"));
        Assert.Null(plain.Architecture.Union);
    }

    [Theory]
    [InlineData("spatial_ch_projs.bias", null, "union ControlNet tensor 'spatial_ch_projs.bias' is missing")]
    [InlineData("transformer_layes.0.attn.in_proj_weight", null, "union ControlNet tensor 'transformer_layes.0.attn.in_proj.weight' is missing")]
    [InlineData("task_embedding", new long[] { 8, 16 }, "'task_embedding' is [8, 16]; expected [types, 32]")]
    [InlineData("control_add_embedding.linear_1.weight", new long[] { 128, 2047 }, "'control_add_embedding.linear_1.weight' is [128, 2047]")]
    [InlineData("transformer_layes.0.mlp.c_proj.weight", new long[] { 32, 64 }, "'transformer_layes.0.mlp.c_proj.weight' is [32, 64]; expected [32, 128]")]
    public void A_damaged_union_file_is_refused_naming_the_file_and_the_tensor(string key, long[]? shape, string expected)
    {
        var damaged = Damaged(key, shape);
        try
        {
            var error = Assert.Throws<CheckpointException>(() => ControlNetCheckpoint.Open(damaged).Dispose());
            Assert.Contains(damaged, error.Message);
            Assert.Contains(expected, error.Message);
        }
        finally
        {
            File.Delete(damaged);
        }
    }

    // The union file with one tensor dropped (shape null) or replaced by zeros of another shape.
    private static string Damaged(string key, long[]? shape)
    {
        var path = Path.Combine(Path.GetTempPath(), $"union-{Guid.NewGuid():N}.safetensors");
        using var file = SafetensorsFile.Open(Path.Combine(Union, "diffusion_pytorch_model.safetensors"));
        var tensors = file.Tensors.Keys.Where(k => k != key || shape is not null).Select(k => k == key
            ? (k, shape!, new float[shape!.Aggregate(1L, (a, b) => a * b)])
            : (k, file.Get(k).Shape, file.ReadFloat32(k)));
        SafetensorsWriter.WriteFloat32(path, tensors);
        return path;
    }

    // The union reference's residuals; the plain SDXL ControlNet reference's inputs.
    private static (float[] Values, long[] Shape) Tensor(string name) => Read(Path.Combine(Union, "reference.safetensors"), name);

    private static (float[] Values, long[] Shape) Input(string name) => Read(Path.Combine(Folder, "reference.safetensors"), name);

    private static (float[] Values, long[] Shape) Read(string path, string name)
    {
        using var file = SafetensorsFile.Open(path);
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static Dictionary<string, (float[] Values, long[] Shape)> Run(byte[] graph, int? type)
    {
        var oneHot = new float[8];
        if (type is { } t)
        {
            oneHot[t] = 1;
        }

        return Reference.Run(graph,
            ("sample", Reference.Floats(Input("sample"))),
            ("timestep", Reference.Floats(Input("timestep"))),
            ("encoder_hidden_states", Reference.Floats(Input("encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(Input("text_embeds"))),
            ("time_ids", Reference.Floats(Input("time_ids"))),
            ("controlnet_cond", Reference.Floats(Input("controlnet_cond"))),
            (ControlType, Reference.Floats((oneHot, [8]))));
    }
}
