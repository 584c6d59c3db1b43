using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>Mistakes a user makes give errors that name the node and the file, and fail the run cleanly.</summary>
public sealed class ErrorTests
{
    [Theory]
    [InlineData("unet/model.onnx")]
    [InlineData("text_encoder/model.onnx")]
    [InlineData("vae_decoder/model.onnx")]
    [InlineData("scheduler/scheduler_config.json")]
    [InlineData("tokenizer/vocab.json")]
    public async Task A_missing_model_file_names_the_loader_node_and_the_file(string file)
    {
        using var folder = new TempFolder();
        var model = Path.Combine(folder.Path, "broken-sd");
        CopyFolder(RepositoryRoot.Model("analytic-sd"), model);
        File.Delete(Path.Combine(model, file));
        using var engine = new SdEngine();

        var run = await engine.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "red", steps: 2).With("model", model));

        AssertFailed(run, "model", "model.load");
        Assert.Contains(Path.GetFileName(file), run.Result.Error);
        Assert.Contains(Path.GetDirectoryName(file)!, run.Result.Error);
    }

    [Fact]
    public async Task A_model_folder_that_does_not_exist_names_the_loader_node_and_the_folder()
    {
        using var engine = new SdEngine();

        var run = await engine.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "red", steps: 2).With("model", "models/no-such-model"));

        AssertFailed(run, "model", "model.load");
        Assert.Contains("no-such-model", run.Result.Error);
    }

    [Fact]
    public async Task A_file_that_is_not_an_image_names_the_loader_node_and_the_file()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "notes.png");
        await File.WriteAllTextAsync(path, "these are words, not pixels");
        using var engine = new SdEngine();

        var run = await engine.RunFileAsync("img2img.yaml", Inputs.Of("analytic-sd", "red", steps: 2).With("image", path).With("strength", "0.5"));

        AssertFailed(run, "image", "image.load");
        Assert.Contains("notes.png", run.Result.Error);
    }

    [Fact]
    public async Task A_missing_image_file_names_the_loader_node_and_the_file()
    {
        using var engine = new SdEngine();

        var run = await engine.RunFileAsync("img2img.yaml", Inputs.Of("analytic-sd", "red", steps: 2).With("image", "workflows/assets/no-such-image.png"));

        AssertFailed(run, "image", "image.load");
        Assert.Contains("no-such-image.png", run.Result.Error);
    }

    [Fact]
    public async Task A_mask_of_another_size_than_the_image_names_the_node_the_mask_file_and_both_sizes()
    {
        // The shipped workflow resizes the mask to the image; without that the 512×512 mask meets a 64×64 image.
        var unsized = await InpaintWithUnsizedMaskAsync();
        using var engine = new SdEngine();

        var run = await engine.RunYamlAsync(unsized, Inputs.Of("analytic-sd", "red", steps: 2)
            .With("image", "workflows/assets/landscape.png").With("mask", "workflows/assets/mask.png"));

        AssertFailed(run, "prepare", "inpaint.prepare");
        Assert.Contains("512×512", run.Result.Error);
        Assert.Contains("64×64", run.Result.Error);
        Assert.Contains($"the mask '{Path.Combine(RepositoryRoot.Path, "workflows", "assets", "mask.png")}'", run.Result.Error);
    }

    [Fact]
    public async Task A_mask_of_another_size_than_the_latents_names_the_sampler_and_the_mask_file()
    {
        // A 4-channel inpaint without inpaint.prepare: the image is encoded directly and the unsized mask reaches the sampler.
        var direct = (await InpaintWithUnsizedMaskAsync())
            .Replace("  prepare:\n    node: inpaint.prepare\n", "  prepare:\n    node: vae.encode\n", StringComparison.Ordinal)
            .Replace("      image: image.image\n      mask: mask.mask\n", "      image: image.image\n", StringComparison.Ordinal)
            .Replace("      latent_image: prepare.latent_image\n", "      latent_image: prepare.latent\n", StringComparison.Ordinal)
            .Replace("      masked_latent: prepare.masked_latent\n", "", StringComparison.Ordinal);
        using var engine = new SdEngine();

        var run = await engine.RunYamlAsync(direct, Inputs.Of("analytic-sd", "red", steps: 2)
            .With("image", "workflows/assets/landscape.png").With("mask", "workflows/assets/mask.png"));

        AssertFailed(run, "sample", "diffusion.sample");
        Assert.Contains("512×512", run.Result.Error);
        Assert.Contains("64×64", run.Result.Error);
        Assert.Contains($"the mask '{Path.Combine(RepositoryRoot.Path, "workflows", "assets", "mask.png")}'", run.Result.Error);
    }

    [Fact]
    public async Task A_nine_channel_inpainting_model_without_a_mask_says_what_to_connect()
    {
        using var engine = new SdEngine();

        var run = await engine.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd-inpaint", "red", steps: 2));

        AssertFailed(run, "sample", "diffusion.sample");
        Assert.Contains("9-channel", run.Result.Error);
        Assert.Contains("mask", run.Result.Error);
    }

    [Fact]
    public async Task A_model_file_with_other_inputs_than_a_unet_names_the_file()
    {
        using var folder = new TempFolder();
        var model = Path.Combine(folder.Path, "swapped-sd");
        CopyFolder(RepositoryRoot.Model("analytic-sd"), model);
        File.Copy(Path.Combine(model, "vae_decoder", "model.onnx"), Path.Combine(model, "unet", "model.onnx"), overwrite: true);
        using var engine = new SdEngine();

        var run = await engine.RunFileAsync("txt2img.yaml", Inputs.Of("analytic-sd", "red", steps: 2).With("model", model));

        // The UNet's inputs are checked when model.load opens it, before anything runs on it; the error says what is missing.
        AssertFailed(run, "model", "model.load");
        Assert.Contains(Path.Combine(model, "unet", "model.onnx"), run.Result.Error);
        Assert.Contains("input 'sample'", run.Result.Error);
    }

    // The shipped inpaint workflow with mask.load no longer resizing the mask to the image.
    private static async Task<string> InpaintWithUnsizedMaskAsync()
    {
        var yaml = (await File.ReadAllTextAsync(RepositoryRoot.Workflow("inpaint.yaml"))).ReplaceLineEndings("\n");
        var unsized = yaml.Replace("path: $mask\n      width: $width\n      height: $height", "path: $mask", StringComparison.Ordinal);
        Assert.NotEqual(yaml, unsized);
        return unsized;
    }

    private static void AssertFailed(SdRun run, string node, string type)
    {
        run.AssertFailed(node, $"'{node}'", type);
        var failed = Assert.Single(run.Events.OfType<NodeFailed>());
        Assert.Equal(node, failed.NodeId);
        Assert.Empty(run.Result.OutputFiles);
    }

    private static void CopyFolder(string source, string destination)
    {
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(destination, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
