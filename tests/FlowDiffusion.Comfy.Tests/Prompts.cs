using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>ComfyUI API-format graphs, as ComfyUI's own examples write them.</summary>
internal static class Prompts
{
    /// <summary>ComfyUI's default txt2img graph (basic_api_example's ids) on a shipped model.</summary>
    public static JsonObject Txt2Img(string model = "analytic-sd", string text = "a blue ball", int size = 64, int steps = 6,
        string sampler = "euler", string scheduler = "normal", double cfg = 1, long seed = 5, int batch = 1) => Parse($$"""
        {
          "3": { "class_type": "KSampler", "inputs": { "cfg": {{cfg.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, "denoise": 1, "latent_image": ["5", 0], "model": ["4", 0],
                 "negative": ["7", 0], "positive": ["6", 0], "sampler_name": "{{sampler}}", "scheduler": "{{scheduler}}", "seed": {{seed}}, "steps": {{steps}} } },
          "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "{{model}}" } },
          "5": { "class_type": "EmptyLatentImage", "inputs": { "batch_size": {{batch}}, "height": {{size}}, "width": {{size}} } },
          "6": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "{{text}}" } },
          "7": { "class_type": "CLIPTextEncode", "inputs": { "clip": ["4", 1], "text": "" } },
          "8": { "class_type": "VAEDecode", "inputs": { "samples": ["3", 0], "vae": ["4", 2] } },
          "9": { "class_type": "SaveImage", "inputs": { "filename_prefix": "ComfyUI", "images": ["8", 0] } }
        }
        """);

    public static JsonObject Parse(string json) => (JsonObject)JsonNode.Parse(json)!;

    /// <summary>A node of an API-format prompt.</summary>
    public static JsonObject Node(string classType, JsonObject inputs) => new() { ["class_type"] = classType, ["inputs"] = inputs };

    /// <summary>A link to output <paramref name="slot"/> of node <paramref name="node"/>.</summary>
    public static JsonArray Link(string node, int slot) => [node, slot];
}
