using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's SDXL text encoders map onto clip.encode plus our SDXL conditioning nodes: CLIPTextEncodeSDXL's sizes and crop
/// onto conditioning.sdxl_size, CLIPTextEncodeSDXLRefiner's aesthetic score and size onto conditioning.sdxl_refiner; and a
/// ComfyUI base → refiner graph (two KSamplerAdvanced sharing the step count) keeps its step window and noise settings.
/// </summary>
public sealed class SdxlMappingTests
{
    private static readonly ComfyFolders Folders = new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    [Fact]
    public void Sdxl_text_encoders_carry_size_crop_and_aesthetic_score_to_our_conditioning_nodes()
    {
        var prompt = Prompts.Txt2Img();
        prompt["6"] = new JsonObject { ["class_type"] = "CLIPTextEncodeSDXL", ["inputs"] = new JsonObject
        {
            ["clip"] = Link("4", 1), ["width"] = 2048, ["height"] = 1536, ["crop_w"] = 32, ["crop_h"] = 16, ["target_width"] = 1152, ["target_height"] = 896,
            ["text_g"] = "a red ball", ["text_l"] = "a red ball",
        } };
        prompt["7"] = new JsonObject { ["class_type"] = "CLIPTextEncodeSDXLRefiner", ["inputs"] = new JsonObject
        {
            ["clip"] = Link("4", 1), ["ascore"] = 2.5, ["width"] = 1344, ["height"] = 768, ["text"] = "blurry",
        } };

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var size = workflow.Node(ApiPromptConverter.NodeId("6"))!;
        Assert.Equal("conditioning.sdxl_size", size.Type);
        Assert.Equal([2048L, 1536L, 32L, 16L, 1152L, 896L],
            new[] { "original_width", "original_height", "crop_left", "crop_top", "target_width", "target_height" }.Select(p => (long)Literal(size, p)));
        var encode = workflow.Node(size.Edge("conditioning")!.SourceNode)!;
        Assert.Equal("clip.encode", encode.Type);
        Assert.Equal("a red ball", (string)Literal(workflow.Node(encode.Edge("tokens")!.SourceNode)!, "text"));

        var refiner = workflow.Node(ApiPromptConverter.NodeId("7"))!;
        Assert.Equal("conditioning.sdxl_refiner", refiner.Type);
        Assert.Equal(2.5, (double)Literal(refiner, "aesthetic_score"));
        Assert.Equal((1344L, 768L), ((long)Literal(refiner, "original_width"), (long)Literal(refiner, "original_height")));
        Assert.Equal(refiner.Id, workflow.Node(ApiPromptConverter.NodeId("3", "guider"))!.Edge("negative")!.SourceNode);
    }

    [Fact]
    public void Different_prompts_for_the_two_sdxl_towers_reach_clip_encode_as_tokens_and_tokens_g()
    {
        var prompt = Prompts.Txt2Img();
        prompt["6"] = new JsonObject { ["class_type"] = "CLIPTextEncodeSDXL", ["inputs"] = new JsonObject
        {
            ["clip"] = Link("4", 1), ["width"] = 1024, ["height"] = 1024, ["crop_w"] = 0, ["crop_h"] = 0, ["target_width"] = 1024, ["target_height"] = 1024,
            ["text_g"] = "a red ball", ["text_l"] = "red",
        } };

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var encode = workflow.Node(workflow.Node(ApiPromptConverter.NodeId("6"))!.Edge("conditioning")!.SourceNode)!;
        Assert.Equal("clip.encode", encode.Type);
        Assert.Equal("red", (string)Literal(workflow.Node(encode.Edge("tokens")!.SourceNode)!, "text"));
        Assert.Equal("a red ball", (string)Literal(workflow.Node(encode.Edge("tokens_g")!.SourceNode)!, "text"));
    }

    [Fact]
    public void Base_and_refiner_ksampler_advanced_keep_their_step_windows_and_noise_settings()
    {
        var prompt = Prompts.Txt2Img();
        prompt["3"] = Advanced("enable", 0, 20, "enable", Link("5", 0));
        prompt["30"] = Advanced("disable", 20, 10000, "disable", Link("3", 0));
        prompt["8"]!["inputs"]!["samples"] = Link("30", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var workflow = conversion.Workflow!;
        var first = workflow.Node(ApiPromptConverter.NodeId("3"))!;
        var second = workflow.Node(ApiPromptConverter.NodeId("30"))!;
        Assert.Equal((true, 0L, 20L, true), Window(first));
        Assert.Equal((false, 20L, 10000L, false), Window(second));
        Assert.Equal(first.Id, second.Edge("latent_image")!.SourceNode);
    }

    private static (bool, long, long, bool) Window(WorkflowNode node) =>
        ((bool)Literal(node, "add_noise"), (long)Literal(node, "start_step"), (long)Literal(node, "end_step"), (bool)Literal(node, "return_with_leftover_noise"));

    private static JsonObject Advanced(string addNoise, int start, int end, string leftover, JsonArray latent) => new()
    {
        ["class_type"] = "KSamplerAdvanced",
        ["inputs"] = new JsonObject
        {
            ["model"] = Link("4", 0), ["add_noise"] = addNoise, ["noise_seed"] = 7, ["steps"] = 25, ["cfg"] = 7.0, ["sampler_name"] = "euler",
            ["scheduler"] = "normal", ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = latent,
            ["start_at_step"] = start, ["end_at_step"] = end, ["return_with_leftover_noise"] = leftover,
        },
    };

    private static object Literal(WorkflowNode node, string name) => ((LiteralValue)node.Parameter(name)!.Value).Value!;
}
