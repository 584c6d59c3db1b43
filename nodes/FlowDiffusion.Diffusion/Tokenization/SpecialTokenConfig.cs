using System.Text.Json;

namespace FlowDiffusion.Diffusion.Tokenization;

/// <summary>
/// The special tokens and window length a tokenizer folder declares in <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c> (the latter wins, as in Hugging Face); SD 1.x values where a file is silent.
/// </summary>
/// <param name="BosToken">Start-of-text token.</param>
/// <param name="EosToken">End-of-text token.</param>
/// <param name="PadToken">Padding token (SD 1.x pads with the end-of-text token, SD 2.x with <c>!</c>).</param>
/// <param name="MaxLength">Window length including BOS and EOS.</param>
internal sealed record SpecialTokenConfig(string BosToken, string EosToken, string PadToken, int MaxLength)
{
    /// <summary>Stable Diffusion 1.x: <c>&lt;|startoftext|&gt;</c>, <c>&lt;|endoftext|&gt;</c> as EOS and pad, 77.</summary>
    public static SpecialTokenConfig StableDiffusion1 { get; } = new("<|startoftext|>", "<|endoftext|>", "<|endoftext|>", 77);

    /// <summary>Reads the optional config files of <paramref name="folder"/> over the SD 1.x defaults.</summary>
    public static SpecialTokenConfig Read(string folder)
    {
        var config = StableDiffusion1;
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var path = Path.Combine(folder, name);
            if (File.Exists(path))
                config = config.OverriddenBy(path);
        }
        return config;
    }

    private SpecialTokenConfig OverriddenBy(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}' must hold a JSON object.");
            // Hugging Face writes 1e30 for "no limit"; a CLIP text encoder still has a fixed window.
            var maxLength = root.TryGetProperty("model_max_length", out var length) && length.ValueKind == JsonValueKind.Number
                && length.TryGetInt32(out var declared) && declared is >= 3 and <= 1 << 16 ? declared : MaxLength;
            var bos = TokenText(root, "bos_token") ?? BosToken;
            var eos = TokenText(root, "eos_token") ?? EosToken;
            return new SpecialTokenConfig(bos, eos, TokenText(root, "pad_token") ?? PadToken, maxLength);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The tokenizer config '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    // A token is written either as a string or as an AddedToken object with a "content" string.
    private static string? TokenText(JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var value))
            return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content)
                && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => null,
        };
    }
}
