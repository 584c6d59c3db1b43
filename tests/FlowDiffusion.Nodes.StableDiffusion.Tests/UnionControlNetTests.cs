using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

using static FlowDiffusion.Nodes.StableDiffusion.Tests.SdxlControlReference;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// controlnet.union_type (ComfyUI's SetUnionControlNetType) with the tiny SDXL union ControlNet
/// (tools/reference/make_sdxl_union_controlnet.py) on the tiny SDXL checkpoint, through controlnet.load, controlnet.apply and
/// real ONNX Runtime sessions, against torch restating ComfyUI's union forward.
/// </summary>
public sealed class UnionControlNetTests
{
    private static readonly string Checkpoint = SdxlControlReference.Checkpoint;
    private static readonly string ControlFolder = SdxlControlReference.ControlFolder;
    private static readonly string Union = Path.Combine(ControlFolder, "union");

    [Theory]
    [InlineData("tile", "e2e.tile")]
    [InlineData("auto", "e2e.auto")]
    public async Task The_Sdxl_UNet_with_a_typed_union_ControlNet_matches_torch(string type, string reference)
    {
        var run = (await RunAsync(Union, type)).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var controlled = await PredictAsync(unet, ExtrasOf(run));
        AssertClose(Ref(reference), controlled, 1e-4, $"union ControlNet, {type}, at 0.6");
        var plain = await PredictAsync(unet, Extras.Empty);
        Assert.True(controlled.Zip(plain).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "the ControlNet must move the prediction");
    }

    [Fact]
    public async Task A_type_the_union_ControlNet_does_not_know_is_a_node_error_naming_type()
    {
        // The first ControlNet++ release knows six types: the promax file cut to its first six rows.
        var six = Path.Combine(Path.GetTempPath(), $"union-six-{Guid.NewGuid():N}");
        Directory.CreateDirectory(six);
        try
        {
            using (var file = SafetensorsFile.Open(Path.Combine(Union, "diffusion_pytorch_model.safetensors")))
            {
                SafetensorsWriter.WriteFloat32(Path.Combine(six, "diffusion_pytorch_model.safetensors"), file.Tensors.Keys.Select(k => k switch
                {
                    "task_embedding" => (k, new long[] { 6, 32 }, file.ReadFloat32(k)[..(6 * 32)]),
                    "control_add_embedding.linear_1.weight" => (k, new long[] { 128, 6 * 256 }, Columns(file.ReadFloat32(k), 8 * 256, 6 * 256)),
                    _ => (k, file.Get(k).Shape, file.ReadFloat32(k)),
                }));
            }

            var run = await RunAsync(six, "tile");
            run.AssertFailed("union", "type: 'tile' is control type 6", "knows 6 (openpose, depth, hed/pidi/scribble/ted, canny/lineart/anime_lineart/mlsd, normal, segment)");
            (await RunAsync(six, "segment")).AssertCompleted();
        }
        finally
        {
            Directory.Delete(six, recursive: true);
        }
    }

    [Fact]
    public async Task A_type_on_a_ControlNet_of_one_type_is_ignored_as_in_ComfyUI()
    {
        var typed = (await RunAsync(Path.Combine(ControlFolder, "diffusers"), "depth")).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(typed.Result.Output("model", "unet"));
        var plain = (await RunAsync(Path.Combine(ControlFolder, "diffusers"), null)).AssertCompleted();
        Assert.Equal(await PredictAsync(unet, ExtrasOf(plain)), await PredictAsync(unet, ExtrasOf(typed)));
        Assert.Same(typed.Result.Output("controlnet", "control_net"), typed.Result.Output("union", "result"));
    }

    private static float[] Columns(float[] values, int width, int keep)
    {
        var rows = values.Length / width;
        var kept = new float[rows * keep];
        for (var r = 0; r < rows; r++)
        {
            values.AsSpan(r * width, keep).CopyTo(kept.AsSpan(r * keep, keep));
        }

        return kept;
    }

    private static async Task<SdRun> RunAsync(string controlnet, string? type)
    {
        var net = type is null ? "controlnet.control_net" : "union.result";
        var union = type is null ? "" : $$"""
              union:
                node: controlnet.union_type
                in: { control_net: controlnet.control_net }
                with: { type: "{{type}}" }
            """;
        var yaml = $$"""
            flowdiffusion: 1
            name: union-controlnet-test
            nodes:
              model:
                node: model.load
                with: { path: "{{Checkpoint}}", tokenizer_folder: models/tiny-sd/tokenizer }
              tokens:
                node: clip.tokenize
                in: { tokenizer: model.tokenizer }
                with: { text: a house }
              positive:
                node: clip.encode
                in: { clip: model.clip, tokens: tokens.tokens }
              controlnet:
                node: controlnet.load
                with: { path: "{{controlnet}}" }
            {{union}}
              hint:
                node: image.load
                with: { path: "{{Path.Combine(ControlFolder, "hint-a.png")}}" }
              controlled:
                node: controlnet.apply
                in: { conditioning: positive.conditioning, control_net: {{net}}, image: hint.image }
                with: { strength: 0.6 }
            """;
        return await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
    }

    private static (float[] Values, long[] Shape) Ref(string name) => Read(Path.Combine(Union, "reference.safetensors"), name);
}
