using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace FlowDiffusion.ModelGenerator.Files;

/// <summary>Writes JSON files byte-reproducibly: two-space indent, LF line ends, a final newline, unescaped non-ASCII.</summary>
internal static class JsonText
{
    public static byte[] Object(Action<Utf8JsonWriter> writeProperties, bool indented = true)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = indented,
            NewLine = "\n",
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            writer.WriteStartObject();
            writeProperties(writer);
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.ToArray();
    }

    public static byte[] Lines(IEnumerable<string> lines) => Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n")));

    /// <summary>Writes a diffusers component reference such as <c>["onnxruntime", "OnnxRuntimeModel"]</c>.</summary>
    public static void Pair(this Utf8JsonWriter writer, string name, string? library, string? className)
    {
        writer.WriteStartArray(name);
        WriteNullable(writer, library);
        WriteNullable(writer, className);
        writer.WriteEndArray();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string? value)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
