using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Tests.A1111;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// What an annotator's ComfyUI class and A1111 module answer when the weights file is not in models/annotators: the
/// class is a node error (400) naming the file and the folder, <c>/controlnet/detect</c> refuses the module naming
/// <c>controlnet_module</c> (422) and a txt2img unit naming it is refused naming <c>alwayson_scripts.controlnet.args[0].module</c>
/// (422) before any ControlNet model is looked up.
/// </summary>
internal static class AnnotatorAbsence
{
    /// <summary>Starts a server on <paramref name="modelsFolder"/> (which lacks <paramref name="file"/>) and checks the three refusals.</summary>
    /// <param name="modelsFolder">The models folder the server reads.</param>
    /// <param name="classType">The ComfyUI class.</param>
    /// <param name="inputs">More of the class's inputs, as JSON members after <c>"image"</c> (e.g. <c>, "coarse": "enable"</c>), or empty.</param>
    /// <param name="file">The weights file the messages must name.</param>
    /// <param name="module">The A1111 module that needs it.</param>
    /// <param name="png">The image to send.</param>
    public static async Task AssertRefusedAsync(string modelsFolder, string classType, string inputs, string file, string module, byte[] png)
    {
        await using var host = await ComfyHost.StartAsync(settings: new Dictionary<string, string?> { ["FlowDiffusion:ModelsFolder"] = modelsFolder });
        var name = await ClassMappingTests.UploadAsync(host, "/upload/image", "annotator.png", png);
        var prompt = Prompts.Parse($$"""
            {
              "1": { "class_type": "LoadImage", "inputs": { "image": "{{name}}" } },
              "2": { "class_type": "{{classType}}", "inputs": { "image": ["1", 0]{{inputs}} } },
              "9": { "class_type": "SaveImage", "inputs": { "images": ["2", 0], "filename_prefix": "annotator" } }
            }
            """);
        var (status, body) = await host.PostPromptAsync(prompt);
        Assert.True(status == 400, $"{classType}: {status} {body.ToJsonString()}");
        var details = body["node_errors"]!["2"]!["errors"]![0]!["details"]!.GetValue<string>();
        Assert.Contains(file, details);
        Assert.Contains("models/annotators", details);

        var image = Convert.ToBase64String(png);
        var (code, refused) = await A1111Client.PostRootAsync(host, "/controlnet/detect", new JsonObject
        {
            ["controlnet_module"] = module, ["controlnet_input_images"] = new JsonArray(image),
        });
        Assert.True(code == 422 && refused["field"]?.GetValue<string>() == "controlnet_module", $"{module}: {code} {refused.ToJsonString()}");

        var unit = new JsonObject { ["enabled"] = true, ["module"] = module, ["model"] = "control_v11p_sd15_any", ["image"] = image };
        var (unitCode, unitRefused) = await A1111Client.PostAsync(host, "txt2img", new JsonObject
        {
            ["prompt"] = "a cat", ["alwayson_scripts"] = new JsonObject { ["controlnet"] = new JsonObject { ["args"] = new JsonArray(unit) } },
        });
        Assert.True(unitCode == 422 && unitRefused["field"]?.GetValue<string>() == "alwayson_scripts.controlnet.args[0].module", $"{module}: {unitCode} {unitRefused.ToJsonString()}");
        Assert.Contains(module, unitRefused["detail"]!.GetValue<string>());
    }
}
