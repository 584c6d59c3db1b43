using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Catalog;

/// <summary>
/// What a models folder holds, laid out like ComfyUI's (<c>checkpoints/</c>, <c>loras/</c>, <c>vae/</c>,
/// <c>embeddings/</c>, <c>tokenizers/</c>, plus model folders directly inside): each file's kind, architecture and
/// precision read from its safetensors header or PyTorch checkpoint's pickle (never its weights), and model folders by their layout. The CLI's
/// <c>models</c> command and the editor's model picker both list what this finds.
/// </summary>
public static class ModelCatalog
{
    private const int MaxEntries = 10_000;
    private static readonly string[] SubFolders = ["checkpoints", "loras", "vae", "embeddings", "tokenizers"];

    /// <summary>Every model under <paramref name="modelsFolder"/>, ordered by path; empty when the folder does not exist.</summary>
    public static IReadOnlyList<ModelEntry> List(string modelsFolder) => List(modelsFolder, SubFolders);

    /// <summary>
    /// The models <c>model.load</c> opens (checkpoints and model folders in the models folder and <c>checkpoints/</c>),
    /// by path relative to <paramref name="modelsFolder"/>; what the model pickers offer.
    /// </summary>
    public static IReadOnlyList<ModelEntry> Loadable(string modelsFolder) => [.. List(modelsFolder, ["checkpoints"]).Where(e => e.IsLoadable)];

    private static IReadOnlyList<ModelEntry> List(string modelsFolder, string[] subFolders)
    {
        var root = System.IO.Path.GetFullPath(modelsFolder);
        if (!Directory.Exists(root))
        {
            return [];
        }

        var entries = new List<ModelEntry>();
        Scan(root, root, null, entries, depth: 0);
        foreach (var sub in subFolders)
        {
            var folder = System.IO.Path.Combine(root, sub);
            if (Directory.Exists(folder))
            {
                Scan(root, folder, sub, entries, depth: 0);
            }
        }

        return [.. entries.DistinctBy(e => e.Path).OrderBy(e => e.Path, StringComparer.Ordinal).Take(MaxEntries)];
    }

    /// <summary>Describes one file or folder; <paramref name="folderHint"/> is the ComfyUI folder it sits in, if any.</summary>
    public static ModelEntry? Describe(string path, string relative, string? folderHint = null)
    {
        if (Directory.Exists(path))
        {
            return DescribeFolder(path, relative);
        }

        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = new FileInfo(path).Length;
        return WeightFiles.IsWeightFile(path) ? DescribeSafetensors(path, relative, bytes, folderHint) : null;
    }

    private static void Scan(string root, string folder, string? hint, List<ModelEntry> entries, int depth)
    {
        IEnumerable<string> children;
        try
        {
            children = Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var child in children)
        {
            if (entries.Count >= MaxEntries)
            {
                return;
            }

            var name = System.IO.Path.GetFileName(child);
            if (name.StartsWith('.') || (hint is null && SubFolders.Contains(name)))
            {
                continue;
            }

            var relative = System.IO.Path.GetRelativePath(root, child).Replace('\\', '/');
            var entry = Describe(child, relative, hint);
            if (entry is not null)
            {
                entries.Add(entry);
            }
            else if (hint is not null && depth < 3 && Directory.Exists(child))
            {
                // ComfyUI's folders may hold subfolders of files.
                Scan(root, child, hint, entries, depth + 1);
            }
        }
    }

    private static ModelEntry? DescribeFolder(string folder, string relative)
    {
        long Size() => new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        if (File.Exists(System.IO.Path.Combine(folder, "model_index.json")) && File.Exists(System.IO.Path.Combine(folder, "unet", "model.onnx")))
        {
            // optimum's SDXL export adds text_encoder_2 (the refiner has it alone).
            var sdxl = File.Exists(System.IO.Path.Combine(folder, "text_encoder_2", "model.onnx"));
            var refiner = sdxl && !File.Exists(System.IO.Path.Combine(folder, "text_encoder", "model.onnx"));
            return new ModelEntry(relative, ModelKinds.OnnxFolder, refiner ? "SDXL refiner (diffusers ONNX)" : sdxl ? "SDXL (diffusers ONNX)" : "diffusers ONNX", "", Size());
        }

        // OnnxStack's layout (what ModelFolder.IsOnnxStackLayout tells): the component graphs without model_index.json.
        if (!File.Exists(System.IO.Path.Combine(folder, "model_index.json"))
            && new[] { "unet", "text_encoder", "vae_decoder" }.All(part => File.Exists(System.IO.Path.Combine(folder, part, "model.onnx"))))
        {
            return new ModelEntry(relative, ModelKinds.OnnxFolder, "OnnxStack ONNX", "", Size());
        }

        if (CheckpointCache.IsCheckpoint(folder))
        {
            try
            {
                using var checkpoint = Sd1Checkpoint.Open(folder);
                return new ModelEntry(relative, ModelKinds.DiffusersFolder, Sd1(checkpoint), Precision(checkpoint.Weights), Size());
            }
            catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
            {
                return new ModelEntry(relative, ModelKinds.Other, e.Message, "", Size());
            }
        }

        if (File.Exists(System.IO.Path.Combine(folder, "vocab.json")) && File.Exists(System.IO.Path.Combine(folder, "merges.txt")))
        {
            return new ModelEntry(relative, ModelKinds.Tokenizer, "CLIP BPE tokenizer", "", Size());
        }

        if (File.Exists(System.IO.Path.Combine(folder, "vae_decoder", "model.onnx")))
        {
            return new ModelEntry(relative, ModelKinds.Vae, "diffusers ONNX VAE", "", Size());
        }

        return null;
    }

    private static ModelEntry DescribeSafetensors(string path, string relative, long bytes, string? hint)
    {
        try
        {
            using var file = SafetensorsFile.Open(path);
            var keys = file.Tensors.Keys;
            var precision = string.Join("+", file.Tensors.Values.Select(t => SafetensorsDTypes.Name(t.DType)).Where(t => t is "F32" or "F16" or "BF16" or "F8_E4M3" or "F8_E5M2").Distinct().Order(StringComparer.Ordinal));
            if (keys.Any(k => k.StartsWith("lora_unet_", StringComparison.Ordinal) || k.StartsWith("lora_te", StringComparison.Ordinal) || k.Contains(".lora_A.", StringComparison.Ordinal)
                || k.Contains(".lora.down.", StringComparison.Ordinal) || k.Contains(".lora_down.", StringComparison.Ordinal)))
            {
                return new ModelEntry(relative, ModelKinds.Lora, keys.Any(k => k.StartsWith("lora_te2_", StringComparison.Ordinal)) ? "LoRA (SDXL)" : "LoRA", precision, bytes);
            }

            if (keys.Any(k => k is "emb_params" or "clip_l" or "clip_g" || k.StartsWith("string_to_param", StringComparison.Ordinal)))
            {
                var widths = file.Tensors.Values.Where(t => t.Name is "emb_params" or "clip_l" or "clip_g" || t.Name.StartsWith("string_to_param", StringComparison.Ordinal))
                    .Select(t => $"{(t.Shape.Length == 2 ? t.Shape[0] : 1)}×{t.Shape.LastOrDefault()}");
                return new ModelEntry(relative, ModelKinds.Embedding, "textual inversion " + string.Join(", ", widths), precision, bytes);
            }

            if (keys.Any(k => k.StartsWith("conditioner.embedders.", StringComparison.Ordinal)) && !Sd2Keys.IsSd2(keys))
            {
                // The refiner's only embedder is OpenCLIP, at index 0; the base has CLIP ViT-L there and OpenCLIP at 1.
                var refiner = keys.Any(k => k.StartsWith(OpenClipKeyMap.RefinerPrefix, StringComparison.Ordinal));
                return new ModelEntry(relative, ModelKinds.Checkpoint, refiner ? "SDXL refiner (conditioner.embedders.0.model.* keys)" : $"SDXL ({Sdxl(path)})", precision, bytes);
            }

            if (keys.Any(k => k.StartsWith("control_model.", StringComparison.Ordinal) || k.StartsWith("controlnet_", StringComparison.Ordinal)))
            {
                return new ModelEntry(relative, ModelKinds.Other, "ControlNet", precision, bytes);
            }

            if (LdmKeyMap.IsLdm(keys) && keys.Any(k => k.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal)))
            {
                using var checkpoint = Sd1Checkpoint.Open(path);
                var prediction = checkpoint.Family == ModelFamily.StableDiffusion2 ? CheckpointSampling.Of(path, "auto").PredictionType : null;
                return new ModelEntry(relative, ModelKinds.Checkpoint, Sd1(checkpoint, prediction), precision, bytes);
            }

            if (hint is "vae" || keys.Any(k => k.StartsWith("decoder.", StringComparison.Ordinal) || k.StartsWith("first_stage_model.decoder.", StringComparison.Ordinal)))
            {
                using var vae = Sd1Checkpoint.OpenVae(path);
                return new ModelEntry(relative, ModelKinds.Vae, $"SD VAE (latent {vae.Vae!.LatentChannels} ch, widths {string.Join("/", vae.Vae.LevelChannels)})", precision, bytes);
            }

            return new ModelEntry(relative, ModelKinds.Other, "unknown key layout (" + string.Join(", ", keys.Order(StringComparer.Ordinal).Take(2)) + ", …)", precision, bytes);
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return new ModelEntry(relative, ModelKinds.Other, e.Message, "", bytes);
        }
    }

    // "conditioner.embedders.* keys" for SDXL 1.0's UNet layout; a distilled one's named: "SSD-1B layout: transformer depths …".
    private static string Sdxl(string path)
    {
        using var checkpoint = SdxlCheckpoint.Open(path);
        return checkpoint.UNet is { } unet && SdxlVariant.IsDistilled(unet) ? SdxlVariant.Describe(unet)
            : "conditioner.embedders.* keys";
    }

    // "SD 1.x (UNet 320/640/1280/1280, 4 ch; CLIP 768×12; VAE)", "SD 2.x (v_prediction; UNet …; OpenCLIP 1024×23; VAE)".
    private static string Sd1(Sd1Checkpoint checkpoint, string? prediction = null)
    {
        var sd2 = checkpoint.Family == ModelFamily.StableDiffusion2;
        var parts = prediction is null ? new List<string>() : [prediction];
        if (checkpoint.UNet is { } unet)
        {
            parts.Add($"UNet {string.Join("/", unet.LevelChannels)}, {unet.InChannels} ch{unet.InChannels switch { 9 => " (inpainting)", 8 => " (instruct-pix2pix)", _ => "" }}");
        }

        if (checkpoint.TextEncoder is { } text)
        {
            parts.Add($"{(sd2 ? "OpenCLIP" : "CLIP")} {text.Width}×{text.Layers}");
        }

        if (checkpoint.Vae is not null)
        {
            parts.Add("VAE");
        }

        return $"{(sd2 ? DefaultModel.Sd2 : DefaultModel.Sd1)} ({string.Join("; ", parts)})";
    }

    private static string Precision(CheckpointWeights weights) => string.Join("+",
        new[] { ModelPart.UNet, ModelPart.TextEncoder, ModelPart.Vae }.Where(weights.Has)
            .SelectMany(p => weights.Part(p).Values.Select(t => SafetensorsDTypes.Name(t.Tensor.DType)))
            .Where(t => t is "F32" or "F16" or "BF16" or "F8_E4M3" or "F8_E5M2").Distinct().Order(StringComparer.Ordinal));
}
