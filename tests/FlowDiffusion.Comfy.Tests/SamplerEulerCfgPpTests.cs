using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's SamplerEulerCFGpp on tiny-sd through /prompt: version regular is ComfyUI's ksampler("euler_cfg_pp"), so
/// SamplerCustom with it draws the pixels KSamplerSelect euler_cfg_pp draws (and not euler's); version alternative
/// (ComfyUI's own sample_euler_pp) is a node error naming version; /object_info lists the class.
/// </summary>
public sealed class SamplerEulerCfgPpTests
{
    [Fact]
    public async Task Version_regular_draws_the_pixels_of_ksamplerselect_euler_cfg_pp()
    {
        await using var host = await ComfyHost.StartAsync();
        async Task<byte[]> Draw(JsonObject sampler) => ClassMappingTests.Pixels(await ClassMappingTests.RunForImageAsync(host, Custom(sampler)));

        var regular = await Draw(Node("SamplerEulerCFGpp", new JsonObject { ["version"] = "regular" }));

        Assert.Equal(await Draw(Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler_cfg_pp" })), regular);
        Assert.NotEqual(await Draw(Node("KSamplerSelect", new JsonObject { ["sampler_name"] = "euler" })), regular);
    }

    [Fact]
    public async Task Version_alternative_is_a_node_error_naming_version_and_object_info_lists_the_class()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));
        var (classType, errors) = ApiPromptConverter.Convert(Custom(Node("SamplerEulerCFGpp", new JsonObject { ["version"] = "alternative" })), folders).NodeErrors["11"];
        Assert.Equal("SamplerEulerCFGpp", classType);
        var error = Assert.Single(errors);
        Assert.Equal(("value_not_supported", "version"), (error.Type, error.InputName));
        Assert.Equal("value_not_in_list",
            Assert.Single(ApiPromptConverter.Convert(Custom(Node("SamplerEulerCFGpp", new JsonObject { ["version"] = "other" })), folders).NodeErrors["11"].Errors).Type);

        await using var host = await ComfyHost.StartAsync();
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info/SamplerEulerCFGpp"))!["SamplerEulerCFGpp"]!;
        Assert.Equal("SamplerEulerCFG++", info["display_name"]!.GetValue<string>());
        Assert.Equal(["regular"], info["input"]!["required"]!["version"]![0]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["SAMPLER"], info["output"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    // tiny-sd's txt2img with SamplerCustom (CFG 3, BasicScheduler normal, 4 steps) sampling with the given SAMPLER node (id 11).
    private static JsonObject Custom(JsonObject sampler)
    {
        var prompt = Txt2Img(model: "tiny-sd", text: "a red circle");
        prompt["3"] = Node("SamplerCustom", new JsonObject
        {
            ["model"] = Link("4", 0), ["add_noise"] = true, ["noise_seed"] = 9, ["cfg"] = 3, ["positive"] = Link("6", 0), ["negative"] = Link("7", 0),
            ["sampler"] = Link("11", 0), ["sigmas"] = Link("12", 0), ["latent_image"] = Link("5", 0),
        });
        prompt["11"] = sampler;
        prompt["12"] = Node("BasicScheduler", new JsonObject { ["model"] = Link("4", 0), ["scheduler"] = "normal", ["steps"] = 4, ["denoise"] = 1 });
        return prompt;
    }
}
