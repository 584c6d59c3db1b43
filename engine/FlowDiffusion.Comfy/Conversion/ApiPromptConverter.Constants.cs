using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's primitive nodes (PrimitiveInt, PrimitiveFloat, PrimitiveString, PrimitiveStringMultiline, PrimitiveBoolean)
/// and its string nodes (StringConcatenate, StringSubstring, StringLength, CaseConverter, StringTrim, StringReplace,
/// StringContains, StringCompare). Their outputs depend on widgets only, so they are computed here, with Python's string
/// semantics (code points, <c>str.title</c>, <c>str.strip</c>), and the widgets they link to read them as written values:
/// they add no workflow node.
/// </summary>
public sealed partial class ApiPromptConverter
{
    /// <summary>The longest text a string node may produce, in characters: concatenations cannot double their way past it.</summary>
    public const int MaxConstantText = 1 << 20;

    private static readonly string[] CaseModes = ["UPPERCASE", "lowercase", "Capitalize", "Title Case"];

    private static readonly string[] TrimModes = ["Both", "Left", "Right"];

    private static readonly string[] CompareModes = ["Starts With", "Ends With", "Equal"];

    // A widget input's JSON: the written value, or where the prompt links the widget to another node, that node's constant
    // when its type is the widget's (ComfyUI checks linked types alike; a COMBO takes a STRING). False once reported.
    private bool TryWidget(string id, JsonObject inputs, string name, string type, out JsonNode? value)
    {
        value = inputs[name];
        if (value is not JsonArray) return true;
        value = null;
        var linked = Link<ComfyValue>(id, inputs, name);
        switch (linked)
        {
            case null:
                return false;
            case ConstantValue constant when constant.ComfyType == type:
                value = constant.Value;
                return true;
            case UnsupportedOutput unsupported:
                Error(id, "value_not_supported", "Output not supported", $"{name}: {unsupported.Why}", name);
                return false;
            default:
                Error(id, "return_type_mismatch", "Return type mismatch between linked nodes", $"{name}: received_type({linked.ComfyType}) mismatch input_type({type})", name);
                return false;
        }
    }

    private ComfyValue[]? Primitive(string id, JsonObject inputs, string type)
    {
        JsonNode? value = type switch
        {
            "PrimitiveInt" => Integer(id, inputs, "value", 0) is { } integer && Within(id, "value", integer, -long.MaxValue, long.MaxValue) ? JsonValue.Create(integer) : null,
            "PrimitiveFloat" => Number(id, inputs, "value", 0) is { } number && Within(id, "value", number, -long.MaxValue, long.MaxValue) ? JsonValue.Create(number) : null,
            "PrimitiveBoolean" => Boolean(id, inputs, "value", false) is { } flag ? JsonValue.Create(flag) : null,
            _ => Text(id, inputs, "value", null) is { } text ? JsonValue.Create(text) : null,
        };
        var comfyType = type switch { "PrimitiveInt" => "INT", "PrimitiveFloat" => "FLOAT", "PrimitiveBoolean" => "BOOLEAN", _ => "STRING" };
        return value is null ? null : [new ConstantValue(comfyType, value)];
    }

    private ComfyValue[]? StringNode(string id, JsonObject inputs, string type)
    {
        var text = Text(id, inputs, type is "StringConcatenate" or "StringCompare" ? "string_a" : "string", null);
        if (text is null) return null;
        JsonNode? result;
        switch (type)
        {
            case "StringConcatenate":
            {
                var second = Text(id, inputs, "string_b", null);
                var delimiter = Text(id, inputs, "delimiter", "");
                if (second is null || delimiter is null) return null;
                result = Bounded(id, "string_b", (long)text.Length + delimiter.Length + second.Length, () => text + delimiter + second);
                break;
            }
            case "StringSubstring":
            {
                var start = Integer(id, inputs, "start", 0);
                var end = Integer(id, inputs, "end", 0);
                if (start is null || end is null) return null;
                result = JsonValue.Create(Slice(text, start.Value, end.Value));
                break;
            }
            case "StringLength":
                return [new ConstantValue("INT", JsonValue.Create((long)Runes(text).Length))];
            case "CaseConverter":
            {
                var mode = Choice(id, inputs, "mode", "UPPERCASE", CaseModes);
                if (mode is null) return null;
                result = JsonValue.Create(mode switch
                {
                    "UPPERCASE" => text.ToUpperInvariant(),
                    "lowercase" => text.ToLowerInvariant(),
                    "Capitalize" => Capitalize(text),
                    _ => TitleCase(text),
                });
                break;
            }
            case "StringTrim":
            {
                var mode = Choice(id, inputs, "mode", "Both", TrimModes);
                if (mode is null) return null;
                int first = 0, last = text.Length;
                if (mode != "Right") while (first < last && IsPythonSpace(text[first])) first++;
                if (mode != "Left") while (last > first && IsPythonSpace(text[last - 1])) last--;
                result = JsonValue.Create(text[first..last]);
                break;
            }
            case "StringReplace":
            {
                var find = Text(id, inputs, "find", null);
                var replacement = Text(id, inputs, "replace", null);
                if (find is null || replacement is null) return null;
                result = Replace(id, text, find, replacement);
                break;
            }
            case "StringContains":
            {
                var part = Text(id, inputs, "substring", null);
                var caseSensitive = Boolean(id, inputs, "case_sensitive", true);
                if (part is null || caseSensitive is null) return null;
                var (a, b) = caseSensitive.Value ? (text, part) : (text.ToLowerInvariant(), part.ToLowerInvariant());
                return [new ConstantValue("BOOLEAN", JsonValue.Create(a.Contains(b, StringComparison.Ordinal)))];
            }
            default:
            {
                var other = Text(id, inputs, "string_b", null);
                var mode = Choice(id, inputs, "mode", "Starts With", CompareModes);
                var caseSensitive = Boolean(id, inputs, "case_sensitive", true);
                if (other is null || mode is null || caseSensitive is null) return null;
                var (a, b) = caseSensitive.Value ? (text, other) : (text.ToLowerInvariant(), other.ToLowerInvariant());
                var answer = mode switch
                {
                    "Equal" => string.Equals(a, b, StringComparison.Ordinal),
                    "Starts With" => a.StartsWith(b, StringComparison.Ordinal),
                    _ => a.EndsWith(b, StringComparison.Ordinal),
                };
                return [new ConstantValue("BOOLEAN", JsonValue.Create(answer))];
            }
        }

        return result is null ? null : [new ConstantValue("STRING", result)];
    }

    // Python's str.replace: every occurrence, and an empty find inserts the replacement around every code point.
    private JsonNode? Replace(string id, string text, string find, string replacement)
    {
        if (find.Length == 0)
        {
            var runes = Runes(text);
            return Bounded(id, "replace", text.Length + (long)(runes.Length + 1) * replacement.Length,
                () => replacement + string.Concat(runes.Select(r => r + replacement)));
        }

        long count = 0;
        for (var at = text.IndexOf(find, StringComparison.Ordinal); at >= 0; at = text.IndexOf(find, at + find.Length, StringComparison.Ordinal)) count++;
        return Bounded(id, "replace", text.Length + count * (replacement.Length - find.Length), () => text.Replace(find, replacement, StringComparison.Ordinal));
    }

    // The text made by make, or an error naming the input when it would pass MaxConstantText.
    private JsonValue? Bounded(string id, string input, long length, Func<string> make)
    {
        if (length <= MaxConstantText) return JsonValue.Create(make());
        Error(id, "value_not_supported", "Value not supported",
            $"{input}: the result would be {length.ToString("N0", CultureInfo.InvariantCulture)} characters; at most {MaxConstantText.ToString("N0", CultureInfo.InvariantCulture)}", input);
        return null;
    }

    // Python's string[start:end] over code points: negative indices count from the end, and both clamp to the string.
    private static string Slice(string text, long start, long end)
    {
        var runes = Runes(text);
        long Clamp(long index) => Math.Clamp(index < 0 ? index + runes.Length : index, 0, runes.Length);
        var (from, to) = (Clamp(start), Clamp(end));
        return from >= to ? "" : string.Concat(runes[(int)from..(int)to]);
    }

    // Python's str.capitalize: the first code point upper-cased, the rest lowered.
    private static string Capitalize(string text)
    {
        if (text.Length == 0) return text;
        var first = Rune.GetRuneAt(text, 0);
        return Rune.ToUpperInvariant(first).ToString() + text[first.Utf16SequenceLength..].ToLowerInvariant();
    }

    // Python's str.title: a cased character after a cased one is lowered, any other cased character title-cased.
    private static string TitleCase(string text)
    {
        var builder = new StringBuilder(text.Length);
        var previousCased = false;
        foreach (var rune in text.EnumerateRunes())
        {
            var cased = Rune.IsUpper(rune) || Rune.IsLower(rune) || Rune.GetUnicodeCategory(rune) == UnicodeCategory.TitlecaseLetter;
            builder.Append(cased ? (previousCased ? Rune.ToLowerInvariant(rune) : Rune.ToUpperInvariant(rune)).ToString() : rune.ToString());
            previousCased = cased;
        }

        return builder.ToString();
    }

    // Python's str.isspace for one UTF-16 unit: .NET's white space plus the separators \x1c–\x1f.
    private static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    private static string[] Runes(string text) => [.. text.EnumerateRunes().Select(r => r.ToString())];
}
