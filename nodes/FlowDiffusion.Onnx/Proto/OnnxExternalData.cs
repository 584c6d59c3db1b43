using System.Globalization;

namespace FlowDiffusion.Onnx.Proto;

/// <summary>An initializer's data in a file beside the model: its path relative to the model's folder, byte offset and length.</summary>
public sealed record OnnxExternalData(string Location, long Offset, long Length)
{
    internal IEnumerable<(string Key, string Value)> Entries()
    {
        yield return ("location", Location);
        yield return ("offset", Offset.ToString(CultureInfo.InvariantCulture));
        yield return ("length", Length.ToString(CultureInfo.InvariantCulture));
    }
}
