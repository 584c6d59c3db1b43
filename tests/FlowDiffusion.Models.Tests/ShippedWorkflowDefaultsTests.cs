using System.Text.Json;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Sdk.Values;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Models.Tests;

/// <summary>
/// The shipped workflows default to the best shipped model, shapes-sd, at its native size, so running one with no
/// --set at all draws what its default prompt asks for (tiny-sd, whose images are noise, is only a smoke-test model).
/// Workflows for models that do not ship (SDXL, ControlNet, the checkpoint + LoRA + embedding + VAE recipe) default to the file names those models are published
/// under in the ComfyUI folders, never to test data.
/// </summary>
public sealed class ShippedWorkflowDefaultsTests
{
    [Fact]
    public void Every_shipped_workflow_defaults_to_shapes_sd_and_fixed_sizes_are_its_native_size()
    {
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "models", "shapes-sd", "unet", "config.json")));
        var native = config.RootElement.GetProperty("sample_size").GetInt64() * 8;
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "workflows"), "*.yaml"))
        {
            var workflow = WorkflowYamlReader.ReadFile(file).Workflow!;
            foreach (var input in workflow.Inputs)
                Assert.False(input.Default is string text && text.StartsWith("tests/", StringComparison.Ordinal), $"{Path.GetFileName(file)}: {input.Name} defaults into test data");
            var name = Path.GetFileNameWithoutExtension(file);
            if (name.StartsWith("sdxl-", StringComparison.Ordinal))
            {
                Assert.Equal("models/checkpoints/sd_xl_base_1.0.safetensors", workflow.Input("model")!.Default);
                if (name == "sdxl-refiner")
                    Assert.Equal("models/checkpoints/sd_xl_refiner_1.0.safetensors", workflow.Input("refiner")!.Default);
                continue;
            }

            if (name is "ipadapter" or "ipadapter-controlnet")
            {
                // IP-Adapter's published files, by the names ComfyUI's IPAdapter nodes look for.
                Assert.Equal("models/clip_vision/CLIP-ViT-H-14-laion2B-s32B-b79K.safetensors", workflow.Input("clip_vision")!.Default);
                Assert.Equal("models/ipadapter/ip-adapter_sd15.safetensors", workflow.Input("ipadapter")!.Default);
            }

            if (name == "controlnet-depth")
            {
                // The depth annotator ControlNet users download for it, in models/annotators.
                Assert.Equal("models/annotators/dpt_hybrid-midas-501a.onnx", workflow.Input("depth_model")!.Default);
            }

            if (name.StartsWith("controlnet-", StringComparison.Ordinal) || name.StartsWith("recipe-", StringComparison.Ordinal) || name is "ipadapter" or "ipadapter-controlnet" or "pose-controlnet" or "t2i-adapter")
            {
                Assert.Equal("models/checkpoints/v1-5-pruned-emaonly.safetensors", workflow.Input("model")!.Default);
                continue;
            }

            if (name == "upscale")
            {
                // No diffusion model: an upscale model, by its published file name.
                Assert.Null(workflow.Input("model"));
                Assert.Equal("models/upscale_models/4x-UltraSharp.onnx", workflow.Input("upscale_model")!.Default);
                continue;
            }

            Assert.Equal("models/shapes-sd", workflow.Input("model")!.Default);
            foreach (var size in new[] { "width", "height" })
                if (workflow.Input(size) is { } input)
                    Assert.True(input.Default is 0L || Equals(input.Default, native), $"{Path.GetFileName(file)}: {size} defaults to {input.Default}, neither 0 (native) nor {native}");
        }
    }

    [Theory]
    [InlineData("txt2img", "red", "circle", "blue")]
    [InlineData("img2img", "yellow", "circle", "blue")]
    public async Task Running_with_only_the_defaults_draws_the_default_prompt(string name, string colour, string shape, string background)
    {
        using var outputs = new TempFolder();
        using var engine = new FlowDiffusionEngine(Options.Create(new FlowDiffusionOptions { PluginFolders = [Path.Combine(RepositoryRoot.Path, "plugins")] }),
            new ServiceCollection().BuildServiceProvider());
        var validation = engine.Load(Path.Combine(RepositoryRoot.Path, "workflows", name + ".yaml"));
        Assert.True(validation.IsValid, string.Join("\n", validation.Diagnostics));
        var run = engine.Start(validation.Plan!, new RunOptions { OutputDirectory = outputs.Path, WorkingDirectory = RepositoryRoot.Path });
        await foreach (var _ in run.ReadEventsAsync())
        {
        }
        var result = await run.Completion;
        Assert.True(result.Status == RunStatus.Completed, $"run {result.Status}: {result.FailedNode}: {result.Error}");

        var image = Assert.IsType<Image>(result.Output("decode", "image"));
        var verdict = ShapesSdJudge.Judge(image);
        Assert.True(verdict.Matches(colour, shape, background), $"{name} with its defaults drew {verdict}");
    }
}
