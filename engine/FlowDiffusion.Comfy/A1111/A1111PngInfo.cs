using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Imaging;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>
/// A1111's <c>/sdapi/v1/png-info</c>: an image's infotext (<see cref="A1111ImageInfo"/>: a PNG's <c>parameters</c> text,
/// a JPEG's or WebP's EXIF comment, a GIF's comment), its other text (<c>items</c>), and the infotext parsed into A1111's parameter dictionary as its <c>parse_generation_parameters</c> (1.10) reads it.
/// </summary>
public static partial class A1111PngInfo
{
    /// <summary>Reads a request <c>{image}</c>; answers <c>{info, items, parameters}</c>.</summary>
    public static JsonObject Read(JsonNode? body, ImageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (body is not JsonObject json) throw new A1111RequestException(422, "body", "the body must be a JSON object {image}");
        var encoded = json["image"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>().Trim()
            : throw new A1111RequestException(422, "image", "must be a base64 image (a string)");
        if (encoded.Length == 0) return new JsonObject { ["info"] = "", ["items"] = new JsonObject(), ["parameters"] = new JsonObject() };
        var bytes = A1111Jobs.Base64(encoded, "image");
        ImageHeaderInfo header;
        try
        {
            header = ImageFile.Check(bytes, "image", limits);
        }
        catch (InvalidDataException e)
        {
            throw new A1111RequestException(422, "image", $"cannot be read as an image: {e.Message}");
        }

        string? info;
        Dictionary<string, string> texts;
        try
        {
            (info, texts) = A1111ImageInfo.Read(bytes, header.Format);
        }
        catch (InvalidDataException e)
        {
            throw new A1111RequestException(422, "image", $"its metadata cannot be read: {e.Message}");
        }

        info ??= "";
        var items = new JsonObject();
        foreach (var (keyword, text) in texts) items[keyword] = text;
        return new JsonObject { ["info"] = info, ["items"] = items, ["parameters"] = Parse(info) };
    }

    /// <summary>
    /// An infotext as A1111's dictionary: the <c>key: value</c> pairs of its last line (when it holds at least three; a
    /// quoted value unquoted as JSON, <c>WxH</c> split into <c>key-1</c>, <c>key-2</c>), <c>Prompt</c> and
    /// <c>Negative prompt</c> from the lines before, then A1111's defaults for the keys it leaves out. Values are strings,
    /// as A1111's, except the defaults it gives as numbers or booleans.
    /// </summary>
    public static JsonObject Parse(string infotext)
    {
        ArgumentNullException.ThrowIfNull(infotext);
        var lines = infotext.Trim().Split('\n').ToList();
        var last = lines[^1];
        lines.RemoveAt(lines.Count - 1);
        if (Param().Matches(last).Count < 3)
        {
            lines.Add(last);
            last = "";
        }

        string prompt = "", negative = "";
        var inNegative = false;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith("Negative prompt:", StringComparison.Ordinal))
            {
                inNegative = true;
                line = line[16..].Trim();
            }

            if (inNegative) negative += (negative.Length == 0 ? "" : "\n") + line;
            else prompt += (prompt.Length == 0 ? "" : "\n") + line;
        }

        var result = new JsonObject();
        foreach (Match match in Param().Matches(last))
        {
            var (key, value) = (match.Groups[1].Value, match.Groups[2].Value);
            if (value.Length == 0) continue; // A1111 fails on an empty value and leaves the key out
            if (value.Length > 1 && value[0] == '"' && value[^1] == '"') value = Unquote(value);
            if (ImageSize().Match(value) is { Success: true } size)
            {
                result[key + "-1"] = size.Groups[1].Value;
                result[key + "-2"] = size.Groups[2].Value;
            }
            else
            {
                result[key] = value;
            }
        }

        result["Prompt"] = prompt;
        result["Negative prompt"] = negative;
        void Default(string key, JsonNode? value)
        {
            if (!result.ContainsKey(key)) result[key] = value;
        }

        Default("Clip skip", "1");
        if (result["Hypernet"] is JsonValue hypernet)
            result["Prompt"] = prompt + $"<hypernet:{hypernet.GetValue<string>()}:{result["Hypernet strength"]?.GetValue<string>() ?? "1.0"}>";
        if (!result.ContainsKey("Hires resize-1"))
        {
            result["Hires resize-1"] = 0;
            result["Hires resize-2"] = 0;
        }

        Default("Hires sampler", "Use same sampler");
        Default("Hires schedule type", "Use same scheduler");
        Default("Hires checkpoint", "Use same checkpoint");
        Default("Hires prompt", "");
        Default("Hires negative prompt", "");
        Default("Mask mode", "Inpaint masked");
        Default("Masked content", "original");
        Default("Inpaint area", "Whole picture");
        Default("Masked area padding", 32);
        Default("RNG", "GPU");
        Default("Schedule type", "Automatic");
        Default("Schedule max sigma", 0);
        Default("Schedule min sigma", 0);
        Default("Schedule rho", 0);
        Default("VAE Encoder", "Full");
        Default("VAE Decoder", "Full");
        Default("FP8 weight", "Disable");
        if (result["FP8 weight"] is JsonValue fp8 && fp8.GetValueKind() == JsonValueKind.String && fp8.GetValue<string>() != "Disable")
            Default("Cache FP16 weight for LoRA", false);
        if (!result.ContainsKey("Emphasis") && (Emphasised(prompt) || Emphasised(negative))) result["Emphasis"] = "Original";
        Default("Refiner switch by sampling steps", false);
        BackwardCompatibility(result);
        return result;
    }

    // A1111's infotext_versions.backcompat: what an older version's image was made with (auto_backcompat, on by default).
    private static void BackwardCompatibility(JsonObject result)
    {
        if (result["Version"] is not JsonValue v || v.GetValueKind() != JsonValueKind.String || Version(v.GetValue<string>()) is not { } version) return;
        string Text(string key) => result[key] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : "";
        if (version.CompareTo((1, 6, 0, 0)) < 0 && Text("Prompt").Contains('[', StringComparison.Ordinal)) result["Old prompt editing timelines"] = true;
        if (version.CompareTo((1, 6, 0, 0)) < 0 && Text("Sampler") is "DDIM" or "PLMS") result["Pad conds v0"] = true;
        if (version.CompareTo((1, 7, 0, 225)) < 0) result["Downcast alphas_cumprod"] = true;
        if (version.CompareTo((1, 8, 0, 0)) < 0 && Text("Refiner").Length > 0) result["Refiner switch by sampling steps"] = true;
    }

    // A1111's version of an infotext, "v1.7.0-225-gabcdef" → 1.7.0 post 225 (its commits after the tag); null for what
    // is not such a version (FlowDiffusion's own "FlowDiffusion", a fork's scheme), which then changes nothing.
    private static (int, int, int, int)? Version(string text)
    {
        var match = VersionText().Match(text);
        return match.Success
            && int.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var major) && int.TryParse(match.Groups[2].Value, CultureInfo.InvariantCulture, out var minor)
            && int.TryParse(match.Groups[3].Value, CultureInfo.InvariantCulture, out var patch)
            ? (major, minor, patch, match.Groups[4].Success && int.TryParse(match.Groups[4].Value, CultureInfo.InvariantCulture, out var post) ? post : 0)
            : null;
    }

    // A1111's unquote: a value in double quotes is read as a JSON string, or kept as it is when that fails.
    private static string Unquote(string value)
    {
        try
        {
            return JsonSerializer.Deserialize<string>(value) ?? value;
        }
        catch (JsonException)
        {
            return value;
        }
    }

    // Whether A1111's attention parser gives some text of the prompt a weight other than 1: ( and [ multiply what they
    // enclose (or, unclosed, the rest) by 1.1 and 1/1.1, (text:w) by w; \( \) \[ \] are literal.
    private static bool Emphasised(string prompt)
    {
        var weights = new List<double>();
        var round = new Stack<int>();
        var square = new Stack<int>();
        void Multiply(int from, double by)
        {
            for (var i = from; i < weights.Count; i++) weights[i] *= by;
        }

        foreach (Match token in Attention().Matches(prompt))
        {
            var text = token.Value;
            if (text == "(") round.Push(weights.Count);
            else if (text == "[") square.Push(weights.Count);
            else if (token.Groups[1].Success && round.Count > 0
                     && double.TryParse(token.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var weight))
                Multiply(round.Pop(), weight);
            else if (text == ")" && round.Count > 0) Multiply(round.Pop(), 1.1);
            else if (text == "]" && square.Count > 0) Multiply(square.Pop(), 1 / 1.1);
            else weights.AddRange(BreakWord().Split(text).Select(_ => 1.0)); // BREAK itself carries no weight
        }

        while (round.Count > 0) Multiply(round.Pop(), 1.1);
        while (square.Count > 0) Multiply(square.Pop(), 1 / 1.1);
        return weights.Any(w => w != 1.0);
    }

    [GeneratedRegex("""\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)""")]
    private static partial Regex Param();

    [GeneratedRegex(@"^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-(\d{1,9})(?:-.*)?)?$")]
    private static partial Regex VersionText();

    [GeneratedRegex(@"^(\d+)x(\d+)$")]
    private static partial Regex ImageSize();

    [GeneratedRegex(@"\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:")]
    private static partial Regex Attention();

    [GeneratedRegex(@"\s*\bBREAK\b\s*")]
    private static partial Regex BreakWord();
}
