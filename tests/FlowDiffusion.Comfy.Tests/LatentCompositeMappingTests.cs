using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>LatentComposite (with feather), LatentCrop and LatentBlend through /prompt on analytic-sd, whose decoded colour is known.</summary>
public sealed class LatentCompositeMappingTests
{
    [Fact]
    public void LatentCrop_of_a_latent_with_a_noise_mask_is_refused_naming_samples()
    {
        // ComfyUI's sampler squeezes the uncropped mask onto the crop; FlowDiffusion's takes only a mask of the latent's size.
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["25"] = Node("SolidMask", new JsonObject { ["value"] = 1, ["width"] = 64, ["height"] = 64 });
        prompt["26"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = Link("5", 0), ["mask"] = Link("25", 0) });
        prompt["24"] = Node("LatentCrop", new JsonObject { ["samples"] = Link("26", 0), ["width"] = 64, ["height"] = 64, ["x"] = 0, ["y"] = 0 });
        prompt["3"]!["inputs"]!["latent_image"] = Link("24", 0);
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

        var (classType, errors) = ApiPromptConverter.Convert(prompt, folders).NodeErrors["24"];

        Assert.Equal("LatentCrop", classType);
        var error = Assert.Single(errors);
        Assert.Equal(("value_not_supported", "samples"), (error.Type, error.InputName));
        Assert.Contains("set the noise mask after LatentCrop", error.Details);
        prompt["24"]!["inputs"]!["samples"] = Link("5", 0);
        Assert.DoesNotContain("24", ApiPromptConverter.Convert(prompt, folders).NodeErrors.Keys);
    }

    [Fact]
    public async Task LatentComposite_pastes_and_feathers_and_LatentCrop_cuts_the_pasted_square()
    {
        await using var host = await ComfyHost.StartAsync();
        // A 32 × 32 blue sample pasted at (16, 16) into the red 64 × 64 one: a quarter blue without feather.
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["20"] = Node("EmptyLatentImage", new JsonObject { ["width"] = 32, ["height"] = 32, ["batch_size"] = 1 });
        prompt["21"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" });
        prompt["22"] = Node("KSampler", new JsonObject
        {
            ["model"] = Link("4", 0), ["seed"] = 1, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal", ["denoise"] = 1,
            ["positive"] = Link("21", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("20", 0),
        });
        prompt["23"] = Node("LatentComposite", new JsonObject { ["samples_to"] = Link("3", 0), ["samples_from"] = Link("22", 0), ["x"] = 16, ["y"] = 16, ["feather"] = 0 });
        prompt["8"]!["inputs"]!["samples"] = Link("23", 0);
        var (r, g, b) = await ClassMappingTests.RunMeanAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.75) < 0.02 && g < 0.02 && Math.Abs(b - 0.25) < 0.02, $"composite: ({r:F3}, {g:F3}, {b:F3})");

        // Feather 16 (2 latent rows): the 4 × 4 square's weights sum to 4 · 1 + 8 · ½ + 4 · ¼ = 9 of 16, so 9/64 of the image is blue.
        prompt["23"]!["inputs"]!["feather"] = 16;
        (r, g, b) = await ClassMappingTests.RunMeanAsync(host, prompt);
        Assert.True(Math.Abs(b - 9 / 64.0) < 0.02 && Math.Abs(r - 55 / 64.0) < 0.02 && g < 0.02, $"feathered: ({r:F3}, {g:F3}, {b:F3})");

        // LatentCrop 64 × 64 at (16, 16) of the 64 × 64 composite: the corner moves back to (0, 0), the whole image again.
        prompt["23"]!["inputs"]!["feather"] = 0;
        prompt["24"] = Node("LatentCrop", new JsonObject { ["samples"] = Link("23", 0), ["width"] = 64, ["height"] = 64, ["x"] = 16, ["y"] = 16 });
        prompt["8"]!["inputs"]!["samples"] = Link("24", 0);
        (r, g, b) = await ClassMappingTests.RunMeanAsync(host, prompt);
        Assert.True(Math.Abs(r - 0.75) < 0.02 && Math.Abs(b - 0.25) < 0.02, $"crop: ({r:F3}, {g:F3}, {b:F3})");
    }

    [Fact]
    public async Task LatentBlend_weighs_samples1_by_the_factor()
    {
        await using var host = await ComfyHost.StartAsync();
        // A red and a blue 64 × 64 sample, blended 0.25 : 0.75.
        var prompt = Prompts.Txt2Img(text: "red", steps: 4);
        prompt["21"] = Node("CLIPTextEncode", new JsonObject { ["clip"] = Link("4", 1), ["text"] = "blue" });
        prompt["22"] = Node("KSampler", new JsonObject
        {
            ["model"] = Link("4", 0), ["seed"] = 1, ["steps"] = 4, ["cfg"] = 1, ["sampler_name"] = "euler", ["scheduler"] = "normal", ["denoise"] = 1,
            ["positive"] = Link("21", 0), ["negative"] = Link("7", 0), ["latent_image"] = Link("5", 0),
        });
        prompt["23"] = Node("LatentBlend", new JsonObject { ["samples1"] = Link("3", 0), ["samples2"] = Link("22", 0), ["blend_factor"] = 0.25 });
        prompt["8"]!["inputs"]!["samples"] = Link("23", 0);

        var (r, g, b) = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(Math.Abs(r - 0.25) < 0.02 && g < 0.02 && Math.Abs(b - 0.75) < 0.02, $"blend: ({r:F3}, {g:F3}, {b:F3})");
    }
}
