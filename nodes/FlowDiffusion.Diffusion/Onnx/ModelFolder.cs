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

    /// <summary>SDXL's VAE scaling factor, which OnnxStack assumes for SDXL folders without a VAE config.</summary>
    public const float SdxlVaeScalingFactor = 0.13025f;

    private const string Layout =
        "A model folder (diffusers ONNX layout) must contain model_index.json, scheduler/scheduler_config.json, "
        + "tokenizer/ (vocab.json, merges.txt), text_encoder/model.onnx, unet/model.onnx and vae_decoder/model.onnx; "
        + "vae_encoder/model.onnx is needed for img2img and inpainting. An SDXL refiner's folder has tokenizer_2/ and text_encoder_2/ "
        + "in place of tokenizer/ and text_encoder/. OnnxStack's layout (the same component folders "
        + "without model_index.json, scheduler or tokenizer files) is accepted too.";

    /// <summary>The folder itself, as a full path.</summary>
    public required string Path { get; init; }

    /// <summary>The pipeline class named in model_index.json (<c>_class_name</c>), e.g. <c>OnnxStableDiffusionPipeline</c>.</summary>
    public string? PipelineClass { get; init; }

    /// <summary>The components model_index.json lists, by folder name, with their class (e.g. <c>unet</c> → <c>OnnxRuntimeModel</c>).</summary>
    public IReadOnlyDictionary<string, string> Components { get; init; } = new Dictionary<string, string>();

    /// <summary><c>scheduler/scheduler_config.json</c>.</summary>
    public required string SchedulerConfigPath { get; init; }

    /// <summary>The tokenizer folder (<c>tokenizer/</c>, holding vocab.json and merges.txt; an SDXL refiner's <c>tokenizer_2/</c>).</summary>
    public required string TokenizerPath { get; init; }

    /// <summary><c>text_encoder/model.onnx</c>, or <c>null</c> for an SDXL refiner, whose only text encoder is <see cref="TextEncoder2Path"/>.</summary>
    public string? TextEncoderPath { get; init; }

    /// <summary><c>unet/model.onnx</c> (its external data, if any, sits beside it).</summary>
    public required string UNetPath { get; init; }

    /// <summary><c>vae_encoder/model.onnx</c>, or <c>null</c> when the folder ships no encoder (txt2img-only exports).</summary>
    public string? VaeEncoderPath { get; init; }

    /// <summary><c>vae_decoder/model.onnx</c>.</summary>
    public required string VaeDecoderPath { get; init; }

    /// <summary><c>text_encoder_2/model.onnx</c> of an SDXL folder (OpenCLIP ViT-bigG), or <c>null</c> for single-encoder models.</summary>
    public string? TextEncoder2Path { get; init; }

    /// <summary>
    /// Whether this is an SDXL refiner's folder (diffusers' <c>StableDiffusionXLImg2ImgPipeline</c> with
    /// <c>requires_aesthetics_score</c>): OpenCLIP ViT-bigG alone, <c>text_encoder_2</c> and <c>tokenizer_2</c>, no CLIP ViT-L.
    /// </summary>
    public bool IsSdxlRefiner => TextEncoderPath is null && TextEncoder2Path is not null;

    /// <summary>The factor latents are multiplied by after encoding and divided by before decoding.</summary>
    public float VaeScalingFactor { get; init; } = DefaultVaeScalingFactor;

    /// <summary>
    /// The latent side the UNet was trained at (<c>sample_size</c> in <c>unet/config.json</c>: 64 for SD 1.x, so
    /// 512-pixel images), or null when the folder does not say.
    /// </summary>
    public int? UNetSampleSize { get; init; }

    /// <summary>
    /// Whether the folder is in OnnxStack's layout: the diffusers-ONNX component folders (<c>unet/model.onnx</c>,
    /// <c>text_encoder/model.onnx</c>, <c>vae_decoder/model.onnx</c>, optionally <c>vae_encoder</c>, <c>text_encoder_2</c>)
    /// without <c>model_index.json</c>. OnnxStack keeps the pipeline's settings (schedule, VAE scale, pad token) in its
    /// application's configuration, not the folder, and its tokenizer is an ONNX graph (<c>tokenizer/model.onnx</c>, or
    /// one shipped with the application), so such a folder may have no scheduler configuration and no CLIP vocabulary:
    /// <see cref="SchedulerConfigPath"/> and <see cref="TokenizerPath"/> may then name files that do not exist, and the
    /// loader supplies SD's defaults and a tokenizer found elsewhere.
    /// </summary>
    public bool IsOnnxStackLayout { get; init; }

    /// <summary>Whether <see cref="TokenizerPath"/> holds CLIP's <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    public bool HasTokenizerFiles => File.Exists(System.IO.Path.Combine(TokenizerPath, "vocab.json")) && File.Exists(System.IO.Path.Combine(TokenizerPath, "merges.txt"));

    /// <summary>
    /// Reads the model folder at <paramref name="path"/>: the diffusers-ONNX layout, or OnnxStack's (see <see cref="IsOnnxStackLayout"/>).
    /// </summary>
    /// <param name="path">The folder holding <c>model_index.json</c> (or, in OnnxStack's layout, the component folders).</param>
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

        var onnxStack = IsOnnxStack(root);
        var index = onnxStack ? default : ReadJson(RequireFile(root, "model_index.json"));
        var pipelineClass = index.ValueKind == JsonValueKind.Object && index.TryGetProperty("_class_name", out var cls) && cls.ValueKind == JsonValueKind.String
            ? cls.GetString()
            : null;

        var components = ListedComponents(index, out var absent);
        var encoder = System.IO.Path.Combine(root, "vae_encoder", "model.onnx");
        var encoder2 = System.IO.Path.Combine(root, "text_encoder_2", "model.onnx");
        // An SDXL refiner has only the second text tower and its tokenizer.
        var refiner = !File.Exists(System.IO.Path.Combine(root, "text_encoder", "model.onnx")) && File.Exists(encoder2);
        var tokenizerName = refiner && !Directory.Exists(System.IO.Path.Combine(root, "tokenizer")) ? "tokenizer_2" : "tokenizer";
        var tokenizer = System.IO.Path.Combine(root, tokenizerName);
        var scheduler = System.IO.Path.Combine("scheduler", "scheduler_config.json");
        if (!onnxStack)
        {
            RequireFile(root, System.IO.Path.Combine(tokenizerName, "vocab.json"));
            RequireFile(root, System.IO.Path.Combine(tokenizerName, "merges.txt"));
            RequireFile(root, scheduler);
        }

        return new ModelFolder
        {
            Path = root,
            PipelineClass = pipelineClass,
            Components = components,
            IsOnnxStackLayout = onnxStack,
            SchedulerConfigPath = System.IO.Path.Combine(root, scheduler),
            TokenizerPath = tokenizer,
            TextEncoderPath = refiner ? null : RequireFile(root, System.IO.Path.Combine("text_encoder", "model.onnx")),
            TextEncoder2Path = File.Exists(encoder2) ? encoder2 : null,
            UNetPath = RequireFile(root, System.IO.Path.Combine("unet", "model.onnx")),
            // model_index.json may declare the encoder absent ([null, null]) even where a stale file remains; optimum's
            // exports keep diffusers' index, which lists the whole "vae" rather than its two ONNX halves.
            VaeEncoderPath = File.Exists(encoder) && !absent.Contains("vae_encoder")
                && (components.Count == 0 || components.ContainsKey("vae_encoder") || components.ContainsKey("vae")) ? encoder : null,
            VaeDecoderPath = RequireFile(root, System.IO.Path.Combine("vae_decoder", "model.onnx")),
            // OnnxStack's own defaults when no config says: 0.13025 for SDXL (two text encoders), else SD's 0.18215.
            VaeScalingFactor = ReadScalingFactor(root, onnxStack && File.Exists(encoder2) ? SdxlVaeScalingFactor : DefaultVaeScalingFactor),
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

    // OnnxStack's layout: the three required component graphs and no model_index.json.
    private static bool IsOnnxStack(string root) =>
        !File.Exists(System.IO.Path.Combine(root, "model_index.json"))
        && new[] { "unet", "text_encoder", "vae_decoder" }.All(part => File.Exists(System.IO.Path.Combine(root, part, "model.onnx")));

    private static float ReadScalingFactor(string root, float fallback)
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
        return fallback;
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
