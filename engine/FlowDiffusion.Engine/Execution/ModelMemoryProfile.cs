using System.Buffers.Binary;
using System.Text.Json;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// What a model contributes to a run's memory, read from its files before the run: the weight bytes its sessions hold
/// and the shape of its largest attention. Read from a diffusers folder's <c>unet/config.json</c> and
/// <c>vae_decoder/config.json</c> (diffusers' field names: <c>block_out_channels</c>, <c>down_block_types</c> or
/// <c>transformer_layers_per_block</c>, <c>attention_head_dim</c>, <c>addition_embed_type</c>, <c>sample_size</c>) and
/// its files' sizes, or from a <c>.safetensors</c> checkpoint's header (tensor names tell SDXL from SD 1.x; weights
/// count as the float32 the conversion writes). What a file does not say follows its family's published shape.
/// </summary>
/// <param name="Family">"SD 1.x" or "SDXL".</param>
/// <param name="LatentFactor">Image pixels per latent pixel along a side (the VAE's scale, 8).</param>
/// <param name="NativeSize">The side a size of 0 asks for: 512 for SD 1.x, 1024 for SDXL.</param>
/// <param name="AttentionDownsample">How much smaller than the latent the first level with attention is along a side (1 for SD 1.x, 2 for SDXL).</param>
/// <param name="AttentionHeads">The heads of that level's attention (8 for SD 1.x, 10 for SDXL).</param>
/// <param name="WeightBytes">The bytes of weights the model's sessions hold (0 when unknown).</param>
public sealed record ModelMemoryProfile(string Family, int LatentFactor, int NativeSize, int AttentionDownsample, int AttentionHeads, long WeightBytes)
{
    private const long MaxConfigBytes = 1 << 20;
    private const long MaxHeaderBytes = 100L << 20;
    private static readonly string[] Components = ["text_encoder", "text_encoder_2", "unet", "vae_decoder", "vae_encoder"];

    /// <summary>SD 1.x's published shape: attention at the latent's full size with 8 heads, 512² native; weights unknown.</summary>
    public static ModelMemoryProfile StableDiffusion1 { get; } = new("SD 1.x", 8, 512, 1, 8, 0);

    /// <summary>SDXL's published shape: no attention at the first level, 640 channels / 64 = 10 heads at the second, 1024² native; weights unknown.</summary>
    public static ModelMemoryProfile StableDiffusionXL { get; } = new("SDXL", 8, 1024, 2, 10, 0);

    /// <summary>
    /// The profile of the model at <paramref name="path"/> (a diffusers folder or a <c>.safetensors</c> checkpoint), or
    /// null when it cannot be read (missing, not a model, malformed).
    /// </summary>
    public static ModelMemoryProfile? Read(string path)
    {
        try
        {
            if (Directory.Exists(path)) return ReadFolder(path);
            if (File.Exists(path) && path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return ReadCheckpoint(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException or OverflowException)
        {
        }
        return null;
    }

    private static ModelMemoryProfile ReadFolder(string folder)
    {
        using var unet = ReadJson(Path.Combine(folder, "unet", "config.json"));
        var u = unet?.RootElement;
        var xl = Directory.Exists(Path.Combine(folder, "text_encoder_2"))
                 || u is { } c && c.TryGetProperty("addition_embed_type", out var added) && added.ValueKind == JsonValueKind.String && added.GetString() == "text_time";
        var family = xl ? StableDiffusionXL : StableDiffusion1;

        using var vae = ReadJson(Path.Combine(folder, "vae_decoder", "config.json"));
        var factor = vae?.RootElement is { } v && Ints(v, "block_out_channels") is { Length: > 0 } vaeLevels ? 1 << (vaeLevels.Length - 1) : family.LatentFactor;
        var native = u is { } s && s.TryGetProperty("sample_size", out var size) && size.ValueKind == JsonValueKind.Number && size.TryGetInt32(out var latent) && latent > 0 ? latent * factor : family.NativeSize;

        var (downsample, heads) = (family.AttentionDownsample, family.AttentionHeads);
        if (u is { } config && Ints(config, "block_out_channels") is { Length: > 0 } widths)
        {
            var attention = AttentionLevels(config, widths.Length) ?? Enumerable.Range(0, widths.Length).Select(l => l + 1 >= family.AttentionDownsample && l < widths.Length - (xl ? 0 : 1)).ToArray();
            var first = Array.IndexOf(attention, true);
            if (first >= 0)
            {
                downsample = 1 << first;
                heads = HeadsAt(config, first, widths[first], xl);
            }
        }

        long weights = 0;
        foreach (var component in Components)
        {
            var part = Path.Combine(folder, component);
            if (!Directory.Exists(part)) continue;
            foreach (var file in new DirectoryInfo(part).EnumerateFiles())
                if (file.Extension is not (".json" or ".txt"))
                    weights += file.Length;
        }
        return new ModelMemoryProfile(family.Family, factor, native, downsample, heads, weights);
    }

    // Which down levels have attention: down_block_types' CrossAttn blocks, else transformer_layers_per_block's non-zero entries.
    private static bool[]? AttentionLevels(JsonElement config, int levels)
    {
        if (config.TryGetProperty("down_block_types", out var types) && types.ValueKind == JsonValueKind.Array && types.GetArrayLength() == levels)
            return [.. types.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String && t.GetString()!.Contains("Attn", StringComparison.Ordinal))];
        if (Ints(config, "transformer_layers_per_block") is { } depths && depths.Length == levels && !config.TryGetProperty("down_block_types", out _))
            return [.. depths.Select(d => d > 0)];
        return null;
    }

    // diffusers' attention_head_dim is, for SD 1.x/2.x/XL configs, the number of heads (an int, or one per level);
    // without it SDXL's transformers have width / 64 heads and SD 1.x's 8.
    private static int HeadsAt(JsonElement config, int level, int width, bool xl)
    {
        if (config.TryGetProperty("attention_head_dim", out var dim))
        {
            if (dim.ValueKind == JsonValueKind.Number && dim.TryGetInt32(out var all) && all > 0) return all;
            if (Ints(config, "attention_head_dim") is { } perLevel && level < perLevel.Length && perLevel[level] > 0) return perLevel[level];
        }
        return xl ? Math.Max(1, width / 64) : StableDiffusion1.AttentionHeads;
    }

    private static ModelMemoryProfile ReadCheckpoint(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length is 0 or > MaxHeaderBytes || (long)length > stream.Length - 8) throw new FormatException("not a safetensors header");
        var header = new byte[length];
        stream.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        var xl = false;
        long elements = 0;
        foreach (var tensor in json.RootElement.EnumerateObject())
        {
            xl |= tensor.Name.StartsWith("conditioner.embedders.1.", StringComparison.Ordinal)
                  || tensor.Name.Contains("add_embedding.", StringComparison.Ordinal) || tensor.Name.Contains("label_emb.", StringComparison.Ordinal);
            if (tensor.Value.ValueKind == JsonValueKind.Object && tensor.Value.TryGetProperty("shape", out var shape) && shape.ValueKind == JsonValueKind.Array)
                elements = checked(elements + shape.EnumerateArray().Aggregate(1L, (n, d) => checked(n * d.GetInt64())));
        }
        // The conversion writes float32 weights.
        return (xl ? StableDiffusionXL : StableDiffusion1) with { WeightBytes = checked(elements * 4) };
    }

    private static JsonDocument? ReadJson(string file)
    {
        var info = new FileInfo(file);
        if (!info.Exists || info.Length > MaxConfigBytes) return null;
        return JsonDocument.Parse(File.ReadAllBytes(file));
    }

    private static int[]? Ints(JsonElement config, string name) =>
        config.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array && array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number)
            ? [.. array.EnumerateArray().Select(e => e.TryGetInt32(out var i) ? i : 0)]
            : null;
}
