using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's DiffusersLoader → model.load of a folder under models/diffusers: the tiny SD 1.x diffusers folder (its
/// PyTorch-layout safetensors, with the model_index.json a Hugging Face repository carries) placed two levels down draws,
/// through /prompt, the pixels of the same folder loaded by a FlowDiffusion workflow written by hand; /object_info lists
/// the folders holding a model_index.json, as ComfyUI walks them; missing, incomplete and escaping names are node errors
/// naming model_path.
/// </summary>
public sealed class DiffusersLoaderTests : IDisposable
{
    private const string Folder = "sub/tiny-sd1";

    // diffusers' StableDiffusionPipeline index, as a repository's model_index.json has it.
    private const string ModelIndex = """
        {
          "_class_name": "StableDiffusionPipeline",
          "_diffusers_version": "0.27.0",
          "feature_extractor": [null, null],
          "safety_checker": [null, null],
          "scheduler": ["diffusers", "PNDMScheduler"],
          "text_encoder": ["transformers", "CLIPTextModel"],
          "tokenizer": ["transformers", "CLIPTokenizer"],
          "unet": ["diffusers", "UNet2DConditionModel"],
          "vae": ["diffusers", "AutoencoderKL"]
        }
        """;

    private readonly CheckpointHome _home = new("fd-comfy-diffusers-");

    public DiffusersLoaderTests()
    {
        var source = Path.Combine(CheckpointHome.TestData, "sd1-tiny", "diffusers");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            _home.Add(file, $"diffusers/{Folder}/{Path.GetRelativePath(source, file).Replace('\\', '/')}");
        File.WriteAllText(Path.Combine(_home.Folder, "models", "diffusers", Folder, "model_index.json"), ModelIndex);
        // A folder without model_index.json is no diffusers folder to ComfyUI.
        _home.Add(Path.Combine(source, "unet", "diffusion_pytorch_model.safetensors"), "diffusers/sub/no-index/unet/diffusion_pytorch_model.safetensors");
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_diffusers_folder_draws_through_diffusersloader_the_pixels_of_the_same_folder_loaded_by_model_load()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var prompt = Txt2Img(text: "a red circle", steps: 2, cfg: 5);
        prompt["4"] = Node("DiffusersLoader", new JsonObject { ["model_path"] = Folder });

        var drawn = ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, prompt));

        Assert.Equal(await IpAdapterMappingTests.RunYamlAsync(host, $$"""
            flowdiffusion: 1
            name: diffusers-equivalent
            nodes:
              model: { node: model.load, with: { path: models/diffusers/{{Folder}} } }
            {{HandWrittenKSampler.Nodes("model.unet", "model.clip", 64)}}
            """), drawn);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("sub/no-index")]
    [InlineData("sub")]
    [InlineData("../diffusers/sub/tiny-sd1")]
    [InlineData("/etc")]
    [InlineData("")]
    public void A_name_that_is_not_a_diffusers_folder_inside_models_diffusers_is_a_node_error_naming_model_path(string name)
    {
        var folders = new ComfyFolders(Path.Combine(_home.Folder, "models"), _home.Folder, Path.Combine(_home.Folder, "input"));
        var prompt = Txt2Img();
        prompt["4"] = Node("DiffusersLoader", new JsonObject { ["model_path"] = name });

        var (classType, errors) = ApiPromptConverter.Convert(prompt, folders).NodeErrors["4"];

        Assert.Equal("DiffusersLoader", classType);
        var error = Assert.Single(errors);
        Assert.Equal(("value_not_in_list", "model_path"), (error.Type, error.InputName));
        Assert.Contains($"'{Folder}'", error.Details);
        prompt["4"] = Node("DiffusersLoader", new JsonObject { ["model_path"] = Folder });
        Assert.Empty(ApiPromptConverter.Convert(prompt, folders).NodeErrors);
    }

    [Fact]
    public async Task Object_info_lists_the_folders_holding_model_index_json_at_any_depth()
    {
        await using var host = await ComfyHost.StartAsync(settings: _home.Settings);
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/DiffusersLoader"))!["DiffusersLoader"]!;

        Assert.Equal([Folder], info["input"]!["required"]!["model_path"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["MODEL", "CLIP", "VAE"], info["output"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("advanced/loaders/deprecated", info["category"]!.GetValue<string>());
    }
}
