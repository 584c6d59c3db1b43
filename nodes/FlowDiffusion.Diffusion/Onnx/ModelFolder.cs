using System.Text.Json;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A Stable Diffusion model folder in the diffusers ONNX layout: where each component's files are and the
/// few numbers read from its configs.
/// </summary>
public sealed record ModelFolder
{
    /// <summary>The default VAE latent scale of SD 1.x, used when no VAE config names one.</summary>
    public const float DefaultVaeScalingFactor = 0.18215f;

    private const string Layout =
        "A model folder (diffusers ONNX layout) must contain model_index.json, scheduler/scheduler_config.json, "
        + "tokenizer/ (vocab.json, merges.txt), text_encoder/model.onnx, unet/model.onnx and vae_decoder/model.onnx; "
        + "vae_encoder/model.onnx is needed for img2img and inpainting.";

    /// <summary>The folder itself, as a full path.</summary>
    public required string Path { get; init; }

    /// <summary>The pipeline class named in model_index.json (<c>_class_name</c>), e.g. <c>OnnxStableDiffusionPipeline</c>.</summary>
    public string? PipelineClass { get; init; }

    /// <summary>The components model_index.json lists, by folder name, with their class (e.g. <c>unet</c> → <c>OnnxRuntimeModel</c>).</summary>
    public IReadOnlyDictionary<string, string> Components { get; init; } = new Dictionary<string, string>();

    /// <summary><c>scheduler/scheduler_config.json</c>.</summary>
    public required string SchedulerConfigPath { get; init; }

    /// <summary>The tokenizer folder (<c>tokenizer/</c>, holding vocab.json and merges.txt).</summary>
    public required string TokenizerPath { get; init; }

    /// <summary><c>text_encoder/model.onnx</c>.</summary>
    public required string TextEncoderPath { get; init; }

    /// <summary><c>unet/model.onnx</c> (its external data, if any, sits beside it).</summary>
    public required string UNetPath { get; init; }

    /// <summary><c>vae_encoder/model.onnx</c>, or <c>null</c> when the folder ships no encoder (txt2img-only exports).</summary>
    public string? VaeEncoderPath { get; init; }

    /// <summary><c>vae_decoder/model.onnx</c>.</summary>
    public required string VaeDecoderPath { get; init; }

    /// <summary><c>text_encoder_2/model.onnx</c> of an SDXL folder (OpenCLIP ViT-bigG), or <c>null</c> for single-encoder models.</summary>
    public string? TextEncoder2Path { get; init; }

    /// <summary>The factor latents are multiplied by after encoding and divided by before decoding.</summary>
    public float VaeScalingFactor { get; init; } = DefaultVaeScalingFactor;

    /// <summary>
    /// The latent side the UNet was trained at (<c>sample_size</c> in <c>unet/config.json</c>: 64 for SD 1.x, so
    /// 512-pixel images), or null when the folder does not say.
    /// </summary>
    public int? UNetSampleSize { get; init; }

    /// <summary>
    /// Reads the model folder at <paramref name="path"/>.
    /// </summary>
    /// <param name="path">The folder holding <c>model_index.json</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">A required file is missing; the message names it and the layout.</exception>
    /// <exception cref="InvalidDataException">A config file is not valid JSON.</exception>
    public static ModelFolder Open(string path)
    {
        var root = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Model folder '{root}' does not exist. {Layout}");
        }

        var index = ReadJson(RequireFile(root, "model_index.json"));
        var pipelineClass = index.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String
            ? cls.GetString()
            : null;

        var components = ListedComponents(index, out var absent);
        var tokenizer = System.IO.Path.Combine(root, "tokenizer");
        RequireFile(root, System.IO.Path.Combine("tokenizer", "vocab.json"));
        RequireFile(root, System.IO.Path.Combine("tokenizer", "merges.txt"));

        var encoder = System.IO.Path.Combine(root, "vae_encoder", "model.onnx");
        var encoder2 = System.IO.Path.Combine(root, "text_encoder_2", "model.onnx");
        return new ModelFolder
        {
            Path = root,
            PipelineClass = pipelineClass,
            Components = components,
            SchedulerConfigPath = RequireFile(root, System.IO.Path.Combine("scheduler", "scheduler_config.json")),
            TokenizerPath = tokenizer,
            TextEncoderPath = RequireFile(root, System.IO.Path.Combine("text_encoder", "model.onnx")),
            TextEncoder2Path = File.Exists(encoder2) ? encoder2 : null,
            UNetPath = RequireFile(root, System.IO.Path.Combine("unet", "model.onnx")),
            // model_index.json may declare the encoder absent ([null, null]) even where a stale file remains; optimum's
            // exports keep diffusers' index, which lists the whole "vae" rather than its two ONNX halves.
            VaeEncoderPath = File.Exists(encoder) && !absent.Contains("vae_encoder")
                && (components.Count == 0 || components.ContainsKey("vae_encoder") || components.ContainsKey("vae")) ? encoder : null,
            VaeDecoderPath = RequireFile(root, System.IO.Path.Combine("vae_decoder", "model.onnx")),
            VaeScalingFactor = ReadScalingFactor(root),
            UNetSampleSize = ReadSampleSize(root),
        };
    }

    /// <summary>
    /// The VAE encoder path, or an error saying the folder has none.
    /// </summary>
    /// <exception cref="FileNotFoundException">The folder ships no <c>vae_encoder/model.onnx</c>.</exception>
    public string RequireVaeEncoder() =>
        VaeEncoderPath ?? throw new FileNotFoundException(
            $"Model folder '{Path}' has no vae_encoder/model.onnx, which img2img and inpainting need. {Layout}",
            System.IO.Path.Combine(Path, "vae_encoder", "model.onnx"));

    // Entries like "unet": ["diffusers", "OnnxRuntimeModel"]; keys starting with '_' are metadata, [null, null] means absent.
    private static Dictionary<string, string> ListedComponents(JsonElement index, out HashSet<string> absent)
    {
        var components = new Dictionary<string, string>(StringComparer.Ordinal);
        absent = new HashSet<string>(StringComparer.Ordinal);
        if (index.ValueKind != JsonValueKind.Object)
        {
            return components;
        }
        foreach (var property in index.EnumerateObject())
        {
            if (!property.Name.StartsWith('_')
                && property.Value.ValueKind == JsonValueKind.Array
                && property.Value.GetArrayLength() == 2
                && property.Value[1].ValueKind == JsonValueKind.String)
            {
                components[property.Name] = property.Value[1].GetString()!;
            }
            else if (!property.Name.StartsWith('_')
                && property.Value.ValueKind == JsonValueKind.Array
                && property.Value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Null))
            {
                absent.Add(property.Name);
            }
        }
        return components;
    }

    private static int? ReadSampleSize(string root)
    {
        var config = System.IO.Path.Combine(root, "unet", "config.json");
        if (!File.Exists(config)
            || !ReadJson(config).TryGetProperty("sample_size", out var size))
        {
            return null;
        }
        // diffusers writes an int, or [height, width] for non-square models; the height is what a square default needs.
        var value = size.ValueKind == JsonValueKind.Array && size.GetArrayLength() > 0 ? size[0] : size;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var side) && side > 0 ? side : null;
    }

    private static float ReadScalingFactor(string root)
    {
        // Optimum writes the VAE config into each half; older exports keep only vae/config.json.
        foreach (var folder in new[] { "vae_decoder", "vae_encoder", "vae" })
        {
            var config = System.IO.Path.Combine(root, folder, "config.json");
            if (File.Exists(config)
                && ReadJson(config).TryGetProperty("scaling_factor", out var factor)
                && factor.ValueKind == JsonValueKind.Number)
            {
                return factor.GetSingle();
            }
        }
        return DefaultVaeScalingFactor;
    }

    private static string RequireFile(string root, string relative)
    {
        var file = System.IO.Path.Combine(root, relative);
        if (!File.Exists(file))
        {
            var folder = System.IO.Path.GetDirectoryName(file)!;
            var pyTorch = Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.safetensors").Concat(Directory.EnumerateFiles(folder, "*.bin")).Any()
                ? " That folder holds PyTorch weights: export the model to ONNX first (e.g. optimum-cli export onnx --model <folder> <output>)."
                : string.Empty;
            throw new FileNotFoundException($"Model folder '{root}' is missing {relative.Replace('\\', '/')}.{pyTorch} {Layout}", file);
        }
        return file;
    }

    private static JsonElement ReadJson(string file)
    {
        OnnxModelFile.ThrowIfLfsPointer(file);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{file}' is not valid JSON: {e.Message}", e);
        }
    }
}
