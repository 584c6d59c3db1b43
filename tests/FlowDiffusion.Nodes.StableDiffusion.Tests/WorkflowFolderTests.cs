using System.Globalization;
using System.Text.Json;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Every workflow shipped in workflows/ validates and runs on tiny-sd, small and fast.</summary>
public sealed class WorkflowFolderTests
{
    public static TheoryData<string> Workflows() => new(Names());

    /// <summary>The workflows that sample (every one but upscale), each with a scheduler input.</summary>
    public static TheoryData<string> SamplingWorkflows() => new(Names().Where(n => n != "upscale.yaml"));

    // ControlNet workflows need a model converted from a checkpoint (tiny-sd has no controlled UNet graph; ControlNetApplyTests
    // and SdxlControlNetTests run them on the tiny checkpoints); hires-fix (HiresFixTests) and outpaint (OutpaintTests) change the size; upscale
    // needs an upscale model (UpscaleModelTests).
    // ipadapter, sdxl-ipadapter and t2i-adapter need a converted model too (IpAdapterApplyTests, SdxlIpAdapterTests,
    // T2IAdapterApplyTests); sdxl-refiner needs an SDXL base and a refiner (SdxlRefinerHandoffTests runs it on the tiny ones).
    public static TheoryData<string> TinySdWorkflows() => new(Names().Where(n => !n.Contains("controlnet", StringComparison.Ordinal) && n is not ("hires-fix.yaml" or "upscale.yaml" or "outpaint.yaml" or "ipadapter.yaml" or "sdxl-ipadapter.yaml" or "t2i-adapter.yaml" or "sdxl-refiner.yaml")));

    private static IEnumerable<string> Names() =>
        Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "workflows"), "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal);

    [Fact]
    public void The_workflows_the_docs_promise_are_there()
    {
        Assert.Subset(Names().ToHashSet(), new HashSet<string> { "txt2img.yaml", "img2img.yaml", "inpaint.yaml", "embedding-mix.yaml", "guidance-sweep.yaml", "denoise-steps.yaml" });
    }

    [Theory]
    [MemberData(nameof(SamplingWorkflows))]
    public void The_scheduler_input_offers_exactly_the_scheduler_nodes_names(string workflow)
    {
        // The names live in the scheduler catalog only: the node takes them from it, the workflows from the node.
        var names = SdEngine.Shared.Engine.Catalog.Find("diffusion.scheduler")!.Parameter("name")!.Choices;
        Assert.Equal(["ddim", "pndm", "lms", "euler", "euler_a", "heun", "dpmpp_2m", "dpm_single", "unipc", "deis", "kdpm2", "kdpm2_a", "ddpm", "lcm"], names);

        var plan = SdEngine.Shared.Load(workflow, new Dictionary<string, object?>()).Plan!;
        Assert.Equal(names, Engine.Workflows.InputChoices.Of(plan.Workflow.Input("scheduler")!, plan.Workflow, SdEngine.Shared.Engine.Catalog));
        var refused = SdEngine.Shared.Load(workflow, new Dictionary<string, object?> { ["scheduler"] = "dpmpp_3m" });
        Assert.Contains(refused.Diagnostics, d => d.Input == "scheduler" && d.Message.StartsWith("'dpmpp_3m' is not one of: 'ddim', 'pndm'", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TinySdWorkflows))]
    public async Task Runs_on_tiny_sd_with_finite_images_and_pngs_that_carry_the_workflow(string workflow)
    {
        using var engine = new SdEngine();
        var declared = engine.Load(workflow, new Dictionary<string, object?>());
        Assert.True(declared.IsValid, string.Join("\n", declared.Diagnostics));
        var names = declared.Plan!.Workflow.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("model", names);
        var small = new Dictionary<string, object?>
        {
            ["model"] = "models/tiny-sd", ["width"] = "64", ["height"] = "64", ["steps"] = "3", ["every"] = "1", ["seed"] = "5",
            // The recipe workflows' LoRA and VAE slots left free, and the last layer (tiny-sd's encoder has no penultimate output).
            ["lora_1"] = "", ["lora_2"] = "", ["vae"] = "", ["clip_skip"] = "1",
        };
        var inputs = small.Where(p => names.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value);

        var run = (await engine.RunFileAsync(workflow, inputs)).AssertCompleted();

        var images = run.Result.Outputs.Values.SelectMany(o => o.Values).OfType<Image>().ToList();
        Assert.NotEmpty(images);
        foreach (var image in images)
        {
            Assert.True(image.Width >= 64 && image.Height >= 64, $"{image.Width}×{image.Height}");
            Assert.All(image.ToArray(), v => Assert.True(float.IsFinite(v) && v is >= 0 and <= 1, $"pixel {v}"));
        }
        foreach (var latent in run.Result.Outputs.Values.SelectMany(o => o.Values).OfType<Latent>())
        {
            Assert.Equal((4, 8, 8), (latent.Channels, latent.Height, latent.Width));
            Assert.All(latent.ToArray(), v => Assert.True(float.IsFinite(v), $"latent {v}"));
        }

        Assert.NotEmpty(run.Result.OutputFiles);
        var original = declared.Plan.Workflow;
        foreach (var file in run.Result.OutputFiles)
        {
            Assert.StartsWith(engine.OutputDirectory, file, StringComparison.Ordinal);
            var png = PngChunks.Read(file);
            Assert.Contains(images, i => i.Width == png.Width && i.Height == png.Height);
            // The embedded YAML is the workflow in saved form: it loads back to the same graph.
            var embedded = engine.Parse(png.Text["flowdiffusion.workflow"], new Dictionary<string, object?>());
            Assert.True(embedded.IsValid, string.Join("\n", embedded.Diagnostics));
            Assert.Equal(original.Name, embedded.Plan!.Workflow.Name);
            Assert.Equal(original.Nodes.Select(n => (n.Id, n.Type)), embedded.Plan.Workflow.Nodes.Select(n => (n.Id, n.Type)));
            Assert.Equal(original.Inputs.Select(i => i.Name), embedded.Plan.Workflow.Inputs.Select(i => i.Name));
            using var saved = JsonDocument.Parse(png.Text["flowdiffusion.inputs"]);
            Assert.Equal("5", saved.RootElement.GetProperty("seed").ToString());
            Assert.Equal("models/tiny-sd", saved.RootElement.GetProperty("model").GetString());
        }
    }

    [Fact]
    public async Task Saving_again_never_overwrites_and_a_batch_saves_every_image()
    {
        using var engine = new SdEngine();
        var inputs = Inputs.Of("tiny-sd", "a cat", steps: 1, batch: 2);

        var first = (await engine.RunFileAsync("txt2img.yaml", inputs)).AssertCompleted();
        var second = (await engine.RunFileAsync("txt2img.yaml", inputs.With("seed", 9.ToString(CultureInfo.InvariantCulture)))).AssertCompleted();

        Assert.Equal(2, first.Result.OutputFiles.Count);
        Assert.Equal(2, second.Result.OutputFiles.Count);
        var all = first.Result.OutputFiles.Concat(second.Result.OutputFiles).ToList();
        Assert.Equal(4, all.Distinct().Count());
        Assert.All(all, f => Assert.True(File.Exists(f)));
        Assert.Equal(4, Directory.GetFiles(engine.OutputDirectory, "txt2img_*.png").Length);
    }
}
