using System.Text;
using System.Text.Json;

namespace FlowDiffusion.Nodes.StableDiffusion.Imaging;

/// <summary>
/// A run's resolved inputs as the JSON object a PNG carries. Written with <see cref="Utf8JsonWriter"/> for the values
/// inputs hold (text, numbers, booleans, null): the reflection-based serializer spends tens of milliseconds warming up
/// in a fresh process, which a one-shot CLI run paid on every save. Other values go through the serializer.
/// </summary>
internal static class InputsJson
{
    public static string Write(IReadOnlyDictionary<string, object?> inputs)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in inputs)
            {
                json.WritePropertyName(name);
                switch (value)
                {
                    case null: json.WriteNullValue(); break;
                    case string text: json.WriteStringValue(text); break;
                    case bool flag: json.WriteBooleanValue(flag); break;
                    case long number: json.WriteNumberValue(number); break;
                    case int number: json.WriteNumberValue(number); break;
                    case ulong number: json.WriteNumberValue(number); break;
                    case double number when double.IsFinite(number): json.WriteNumberValue(number); break;
                    case float number when float.IsFinite(number): json.WriteNumberValue(number); break;
                    case decimal number: json.WriteNumberValue(number); break;
                    default: JsonSerializer.Serialize(json, value, value.GetType()); break;
                }
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
