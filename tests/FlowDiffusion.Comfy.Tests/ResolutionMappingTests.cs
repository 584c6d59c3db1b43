using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using SkiaSharp;
using static FlowDiffusion.Comfy.Tests.ClassMappingTests;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>ComfyUI's upscaling, tiled VAE and outpainting classes: their mappings, and a hires pass through them on analytic-sd.</summary>
public sealed class ResolutionMappingTests
{
    [Fact]
    public void Upscale_tiled_vae_and_outpaint_classes_map_to_their_nodes_with_comfyuis_defaults()
    {
        var models = Path.Combine(Path.GetTempPath(), "fd-comfy-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(models, "upscale_models"));
            File.WriteAllBytes(Path.Combine(models, "upscale_models", "4x-UltraSharp.onnx"), [0]);
            Directory.CreateDirectory(Path.Combine(models, "checkpoints"));
            File.WriteAllBytes(Path.Combine(models, "checkpoints", "sd15.safetensors"), [0]);
            var folders = new ComfyFolders(models, RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
            var prompt = Prompts.Txt2Img(model: "sd15.safetensors");
            prompt["20"] = Node("LatentUpscaleBy", new() { ["samples"] = Link("3", 0), ["upscale_method"] = "bislerp", ["scale_by"] = 1.5 });
            prompt["8"]!["inputs"]!["samples"] = Link("20", 0);
            prompt["21"] = Node("VAEEncodeTiled", new() { ["pixels"] = Link("8", 0), ["vae"] = Link("4", 2), ["tile_size"] = 256, ["overlap"] = 32 });
            prompt["22"] = Node("VAEDecodeTiled", new() { ["samples"] = Link("21", 0), ["vae"] = Link("4", 2), ["tile_size"] = 320, ["overlap"] = 64, ["temporal_size"] = 64, ["temporal_overlap"] = 8 });
            prompt["23"] = Node("UpscaleModelLoader", new() { ["model_name"] = "4x-UltraSharp.onnx" });
            prompt["24"] = Node("ImageUpscaleWithModel", new() { ["upscale_model"] = Link("23", 0), ["image"] = Link("22", 0) });
            prompt["25"] = Node("ImageScaleBy", new() { ["image"] = Link("24", 0), ["upscale_method"] = "lanczos", ["scale_by"] = 0.5 });
            prompt["26"] = Node("ImagePadForOutpaint", new() { ["image"] = Link("25", 0), ["left"] = 64, ["top"] = 0, ["right"] = 8, ["bottom"] = 16, ["feathering"] = 24 });
            prompt["9"]!["inputs"]!["images"] = Link("26", 0);
            prompt["28"] = Node("VAEEncodeForInpaint", new() { ["pixels"] = Link("26", 0), ["vae"] = Link("4", 2), ["mask"] = Link("26", 1), ["grow_mask_by"] = 0 });
            prompt["29"] = Node("VAEDecode", new() { ["samples"] = Link("28", 0), ["vae"] = Link("4", 2) });
            prompt["27"] = Node("SaveImage", new() { ["images"] = Link("29", 0), ["filename_prefix"] = "inpaint" });

            var conversion = ApiPromptConverter.Convert(prompt, folders);

            Assert.Empty(conversion.NodeErrors);
            var workflow = conversion.Workflow!;
            WorkflowNode Mapped(string id, string type)
            {
                var node = workflow.Node(ApiPromptConverter.NodeId(id))!;
                Assert.Equal(type, node.Type);
                return node;
            }

            object? Value(WorkflowNode node, string name) => ((LiteralValue)node.Parameter(name)!.Value).Value;
            var byLatent = Mapped("20", "latent.resize");
            Assert.Equal((1.5, "bislerp"), ((double)Value(byLatent, "scale_by")!, (string)Value(byLatent, "method")!));
            Assert.Null(byLatent.Parameter("width"));
            var encode = Mapped("21", "vae.encode_tiled");
            Assert.Equal((256L, 32L), ((long)Value(encode, "tile_size")!, (long)Value(encode, "overlap")!));
            Assert.Equal(ApiPromptConverter.NodeId("8"), encode.Edge("image")!.SourceNode);
            var decode = Mapped("22", "vae.decode_tiled");
            Assert.Equal((320L, 64L), ((long)Value(decode, "tile_size")!, (long)Value(decode, "overlap")!));
            Assert.Equal("latent", decode.Edge("latent")!.SourceOutput);
            var loader = Mapped("23", "upscale.load");
            Assert.Equal(Path.Combine(models, "upscale_models", "4x-UltraSharp.onnx"), Path.GetFullPath((string)Value(loader, "path")!, RepositoryRoot.Path));
            var upscale = Mapped("24", "image.upscale_with_model");
            Assert.Equal(("upscale_model", 512L, 32L), (upscale.Edge("upscale_model")!.SourceOutput, (long)Value(upscale, "tile_size")!, (long)Value(upscale, "overlap")!));
            var byImage = Mapped("25", "image.resize");
            Assert.Equal((0.5, "lanczos"), ((double)Value(byImage, "scale_by")!, (string)Value(byImage, "method")!));
            var pad = Mapped("26", "image.pad_for_outpaint");
            Assert.Equal([64L, 0L, 8L, 16L, 24L], new[] { "left", "top", "right", "bottom", "feathering" }.Select(p => (long)Value(pad, p)!));
            Assert.Equal("grey", Value(pad, "fill"));
            Assert.Equal("padded", workflow.Node(ApiPromptConverter.NodeId("9"))!.Edge("images")!.SourceOutput);
            var inpaint = Mapped("28", "inpaint.prepare");
            Assert.Equal(("padded", "mask"), (inpaint.Edge("image")!.SourceOutput, inpaint.Edge("mask")!.SourceOutput));

            // Files that are not weights are refused with what to do; ESRGAN .pth and .safetensors map like ONNX files; files not in the folder are listed.
            prompt["23"]!["inputs"]!["model_name"] = "RealESRGAN_x4plus.pkl";
            var refused = ApiPromptConverter.Convert(prompt, folders);
            Assert.Contains("ONNX", refused.NodeErrors["23"].Errors[0].Details, StringComparison.Ordinal);
            Assert.Contains("NAME.pth", refused.NodeErrors["23"].Errors[0].Details, StringComparison.Ordinal);
            File.WriteAllBytes(Path.Combine(models, "upscale_models", "RealESRGAN_x4plus.pth"), [0]);
            prompt["23"]!["inputs"]!["model_name"] = "RealESRGAN_x4plus.pth";
            Assert.Empty(ApiPromptConverter.Convert(prompt, folders).NodeErrors);
            File.WriteAllBytes(Path.Combine(models, "upscale_models", "RealESRGAN_x4plus.safetensors"), [0]);
            prompt["23"]!["inputs"]!["model_name"] = "RealESRGAN_x4plus.safetensors";
            Assert.Empty(ApiPromptConverter.Convert(prompt, folders).NodeErrors);
            prompt["23"]!["inputs"]!["model_name"] = "missing.onnx";
            Assert.Contains("'4x-UltraSharp.onnx'", ApiPromptConverter.Convert(prompt, folders).NodeErrors["23"].Errors[0].Details, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(models, recursive: true);
        }
    }

    [Fact]
    public async Task A_hires_pass_through_bislerp_tiled_decode_lanczos_and_outpaint_padding_gives_the_sizes_and_colours()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "a red ball", steps: 4, size: 64);
        prompt["20"] = Node("LatentUpscaleBy", new() { ["samples"] = Link("3", 0), ["upscale_method"] = "bislerp", ["scale_by"] = 1.5 });
        prompt["21"] = Node("KSampler", new()
        {
            ["model"] = Link("4", 0), ["seed"] = 3, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal",
            ["positive"] = Link("6", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("20", 0), ["denoise"] = 0.5,
        });
        prompt["8"] = Node("VAEDecodeTiled", new() { ["samples"] = Link("21", 0), ["vae"] = Link("4", 2), ["tile_size"] = 64, ["overlap"] = 32 });
        prompt["22"] = Node("ImageScaleBy", new() { ["image"] = Link("8", 0), ["upscale_method"] = "lanczos", ["scale_by"] = 0.5 });
        prompt["23"] = Node("ImagePadForOutpaint", new() { ["image"] = Link("22", 0), ["left"] = 0, ["top"] = 0, ["right"] = 16, ["bottom"] = 0, ["feathering"] = 0 });
        prompt["9"]!["inputs"]!["images"] = Link("23", 0);

        using var image = SKBitmap.Decode(await RunForImageAsync(host, prompt));

        Assert.Equal((64, 48), (image.Width, image.Height)); // 64 → 96 latents·8 → ½ → 48, + 16 on the right
        var inside = image.GetPixel(20, 20);
        Assert.True(inside.Red > 245 && inside.Green < 10 && inside.Blue < 10, $"inside {inside}");
        var border = image.GetPixel(60, 20);
        Assert.True(Math.Abs(border.Red - 128) <= 1 && border.Red == border.Green && border.Green == border.Blue, $"border {border}");
    }
}
