using System.Text.Json;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// The <c>metadata</c> parameter of the save nodes: extra text entries for a file, as a JSON object of strings in order
/// (the ComfyUI layer puts ComfyUI's prompt and each extra_pnginfo entry there).
/// </summary>
internal static class MetadataEntries
{
    /// <summary>The longest metadata text accepted.</summary>
    public const int MaxCharacters = 16 << 20;

    /// <summary>The entries in the text's order; empty for blank text.</summary>
    public static Dictionary<string, string> Parse(string text)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text)) return entries;
        if (text.Length > MaxCharacters)
            throw new ArgumentException($"parameter 'metadata': {text.Length:N0} characters, more than {MaxCharacters:N0}");
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 4 });
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new ArgumentException("parameter 'metadata': must be a JSON object of strings");
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String) throw new ArgumentException($"parameter 'metadata': entry '{entry.Name}' is not a string");
                entries[entry.Name] = entry.Value.GetString()!;
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"parameter 'metadata': not JSON ({e.Message})", e);
        }

        return entries;
    }
}
