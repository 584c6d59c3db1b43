using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ImageAddNoise (image.add_noise), ImageScaleToMaxDimension (image.resize's largest_size) and GetImageSize through the
/// converter. GetImageSize's INTs are settled at conversion, from the header of LoadImage's file, and reach the widgets they
/// link to as written values; an image whose size is known only at run time is a node error. The pixels of image.add_noise
/// and the sizes of largest_size are checked against torch and by hand in FlowDiffusion.Nodes.StableDiffusion.Tests.
/// </summary>
public sealed class ImageNoiseAndSizeMappingTests
{
    [Fact]
    public void ImageAddNoise_and_ImageScaleToMaxDimension_map_with_their_widgets()
    {
        using var input = new InputFolder();
        var prompt = new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = input.Write("photo.png", 40, 24) }),
            ["2"] = Node("ImageAddNoise", new JsonObject { ["image"] = Link("1", 0), ["seed"] = 18446744073709551615UL, ["strength"] = 0.25 }),
            ["3"] = Node("ImageScaleToMaxDimension", new JsonObject { ["image"] = Link("2", 0), ["upscale_method"] = "lanczos", ["largest_size"] = 300 }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("3", 0), ["filename_prefix"] = "noisy" }),
        };

        var conversion = input.Convert(prompt);

        Assert.Empty(conversion.NodeErrors);
        var noise = conversion.Workflow!.Node(ApiPromptConverter.NodeId("2"))!;
        Assert.Equal("image.add_noise", noise.Type);
        Assert.Equal(18446744073709551615UL, ((LiteralValue)noise.Parameter("seed")!.Value).Value);
        Assert.Equal(0.25, ((LiteralValue)noise.Parameter("strength")!.Value).Value);
        var resize = conversion.Workflow.Node(ApiPromptConverter.NodeId("3"))!;
        Assert.Equal(("image.resize", 300L, "lanczos"), (resize.Type, ((LiteralValue)resize.Parameter("largest_size")!.Value).Value, ((LiteralValue)resize.Parameter("method")!.Value).Value));
        Assert.Equal((ApiPromptConverter.NodeId("2"), "noisy"), (resize.Edge("image")!.SourceNode, resize.Edge("image")!.SourceOutput));
    }

    [Theory]
    [InlineData("largest_size 0", "3", "largest_size: 0 would make an empty image")]
    [InlineData("alpha", "2", "an image with an alpha channel")]
    [InlineData("strength", "2", "strength")]
    public void Values_comfyui_cannot_run_or_flowdiffusion_cannot_match_are_node_errors(string what, string node, string message)
    {
        using var input = new InputFolder();
        var prompt = new JsonObject
        {
            ["1"] = Node("LoadImage", new JsonObject { ["image"] = input.Write("photo.png", 40, 24) }),
            ["2"] = Node("ImageAddNoise", new JsonObject { ["image"] = Link(what == "alpha" ? "5" : "1", 0), ["seed"] = 1, ["strength"] = what == "strength" ? 1.5 : 0.5 }),
            ["3"] = Node("ImageScaleToMaxDimension", new JsonObject { ["image"] = Link("2", 0), ["upscale_method"] = "area", ["largest_size"] = what == "largest_size 0" ? 0 : 64 }),
            ["4"] = Node("SolidMask", new JsonObject { ["value"] = 1.0, ["width"] = 40, ["height"] = 24 }),
            ["5"] = Node("JoinImageWithAlpha", new JsonObject { ["image"] = Link("1", 0), ["alpha"] = Link("4", 0) }),
            ["9"] = Node("SaveImage", new JsonObject { ["images"] = Link("3", 0), ["filename_prefix"] = "noisy" }),
        };

        Assert.Contains(message, input.Convert(prompt).NodeErrors[node].Errors[0].Details);
    }

    [Fact]
    public void GetImageSize_of_a_loaded_image_settles_the_widgets_it_links_to()
    {
        using var input = new InputFolder();
        var prompt = Txt2Img();
        prompt["20"] = Node("LoadImage", new JsonObject { ["image"] = input.Write("size.png", 40, 24) + " [input]" });
        prompt["21"] = Node("GetImageSize", new JsonObject { ["image"] = Link("20", 0) });
        prompt["5"]!["inputs"]!["width"] = Link("21", 0);
        prompt["5"]!["inputs"]!["height"] = Link("21", 1);
        prompt["5"]!["inputs"]!["batch_size"] = Link("21", 2);

        var conversion = input.Convert(prompt);

        Assert.Empty(conversion.NodeErrors);
        var empty = conversion.Workflow!.Node(ApiPromptConverter.NodeId("5"))!;
        Assert.Equal((40L, 24L, 1L), (((LiteralValue)empty.Parameter("width")!.Value).Value, ((LiteralValue)empty.Parameter("height")!.Value).Value,
            ((LiteralValue)empty.Parameter("batch")!.Value).Value));
    }

    [Fact]
    public void GetImageSize_of_an_image_sized_at_run_time_is_a_node_error()
    {
        using var input = new InputFolder();
        var prompt = Txt2Img();
        prompt["20"] = Node("LoadImage", new JsonObject { ["image"] = input.Write("size.png", 40, 24) });
        prompt["22"] = Node("ImageScaleBy", new JsonObject { ["image"] = Link("20", 0), ["upscale_method"] = "area", ["scale_by"] = 2.0 });
        prompt["21"] = Node("GetImageSize", new JsonObject { ["image"] = Link("22", 0) });
        prompt["5"]!["inputs"]!["width"] = Link("21", 0);

        var errors = input.Convert(prompt).NodeErrors;

        Assert.Contains("GetImageSize needs an image whose size is known then — one straight from LoadImage; this one comes from ImageScaleBy", errors["21"].Errors[0].Details);
    }

    // A temporary ComfyUI input folder.
    private sealed class InputFolder : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("flowdiffusion-size-").FullName;

        public string Write(string name, int width, int height)
        {
            File.WriteAllBytes(Path.Combine(_path, name), Images.SolidPng(width, height, SKColors.Coral));
            return name;
        }

        public PromptConversion Convert(JsonObject prompt) =>
            ApiPromptConverter.Convert(prompt, new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, _path), requireFiles: true);

        public void Dispose() => Directory.Delete(_path, recursive: true);
    }
}
