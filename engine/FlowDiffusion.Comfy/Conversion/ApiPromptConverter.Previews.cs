using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's preview output nodes beyond PreviewImage: MaskPreview (comfy_extras/nodes_mask.py) shows a MASK as a grey
/// image saved to the temp folder, as PreviewImage saves its images; PreviewAny (comfy_extras/nodes_preview_any.py) shows
/// its source as text, a UI output settled at conversion.
/// </summary>
public sealed partial class ApiPromptConverter
{
    // The prefix of PreviewImage's (and MaskPreview's) files: ComfyUI's temp folder's files, which lie in our output folder.
    internal const string PreviewPrefix = "ComfyUI_temp";

    // MaskPreview → image.from_mask (the mask in all three channels, as ComfyUI's preview expands it) → PreviewImage's image.save.
    private ComfyValue[]? MaskPreview(string id, JsonObject inputs)
    {
        var mask = Link<MaskValue>(id, inputs, "mask");
        if (mask is null) return null;
        var image = Add(id, "image", "image.from_mask", [("mask", mask.Mask)], []);
        return SaveImages(id, $"{image}.image", "temp", PreviewPrefix);
    }

    // PreviewAny → no node: its text, as ComfyUI's node writes it (a string as it is, a number or boolean as Python's
    // str), becomes the node's ui.text. Only values settled at conversion (STRING, INT, FLOAT, BOOLEAN) can be shown;
    // ComfyUI's text of a run-time value (a tensor's str) has no equivalent here.
    private ComfyValue[]? PreviewAny(string id, JsonObject inputs)
    {
        var source = Link<ComfyValue>(id, inputs, "source");
        if (source is null) return null;
        if (source is not ConstantValue { Value: JsonValue value } constant)
        {
            Error(id, "value_not_supported", "Value not supported",
                $"source: FlowDiffusion previews values settled when the prompt is converted (STRING, INT, FLOAT, BOOLEAN); a {source.ComfyType} exists only when the workflow runs", "source");
            return null;
        }

        textOutputs[id] = constant.ComfyType switch
        {
            "BOOLEAN" => value.GetValueKind() == JsonValueKind.True ? "True" : "False",
            "FLOAT" => PythonFloat(JsonNumbers.Number(value) ?? 0),
            "INT" => JsonNumbers.Integer(value)?.ToString(CultureInfo.InvariantCulture) ?? value.ToJsonString(),
            _ => value.GetValue<string>(),
        };
        return [];
    }

    // Python's str of a float: the shortest digits that read back, fixed-point for exponents −4 … 15 (with ".0" when
    // integral), else d.ddde±XX.
    internal static string PythonFloat(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponentAt = shortest.IndexOfAny(['E', 'e']);
        var mantissa = exponentAt < 0 ? shortest : shortest[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(shortest[(exponentAt + 1)..], CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var digits = (point < 0 ? mantissa : mantissa.Remove(point, 1)).TrimStart('0');
        var leadingZeros = (point < 0 ? mantissa : mantissa.Remove(point, 1)).Length - digits.Length;
        digits = digits.TrimEnd('0');
        var sign = double.IsNegative(value) ? "-" : "";
        if (digits.Length == 0) return sign + "0.0";
        // The decimal exponent of the first significant digit.
        var decimalExponent = (point < 0 ? mantissa.Length : point) - leadingZeros - 1 + exponent;
        if (decimalExponent is >= -4 and < 16)
        {
            var text = decimalExponent >= 0
                ? digits.Length > decimalExponent + 1 ? $"{digits[..(decimalExponent + 1)]}.{digits[(decimalExponent + 1)..]}" : digits.PadRight(decimalExponent + 1, '0') + ".0"
                : "0." + new string('0', -decimalExponent - 1) + digits;
            return sign + text;
        }

        var fraction = digits.Length > 1 ? "." + digits[1..] : "";
        return $"{sign}{digits[0]}{fraction}e{(decimalExponent < 0 ? '-' : '+')}{Math.Abs(decimalExponent):00}";
    }
}
