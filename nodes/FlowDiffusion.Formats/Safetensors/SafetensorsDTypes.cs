namespace FlowDiffusion.Formats.Safetensors;

/// <summary>The header spelling and byte size of each <see cref="SafetensorsDType"/>.</summary>
public static class SafetensorsDTypes
{
    private static readonly Dictionary<string, SafetensorsDType> ByName = new(StringComparer.Ordinal)
    {
        ["BOOL"] = SafetensorsDType.Bool,
        ["U8"] = SafetensorsDType.UInt8,
        ["I8"] = SafetensorsDType.Int8,
        ["I16"] = SafetensorsDType.Int16,
        ["U16"] = SafetensorsDType.UInt16,
        ["F16"] = SafetensorsDType.Float16,
        ["BF16"] = SafetensorsDType.BFloat16,
        ["I32"] = SafetensorsDType.Int32,
        ["U32"] = SafetensorsDType.UInt32,
        ["F32"] = SafetensorsDType.Float32,
        ["I64"] = SafetensorsDType.Int64,
        ["U64"] = SafetensorsDType.UInt64,
        ["F64"] = SafetensorsDType.Float64,
        ["F8_E4M3"] = SafetensorsDType.Float8E4M3,
        ["F8_E5M2"] = SafetensorsDType.Float8E5M2,
    };

    /// <summary>Parses a header <c>dtype</c> string; false when the type is unknown.</summary>
    public static bool TryParse(string name, out SafetensorsDType type) => ByName.TryGetValue(name, out type);

    /// <summary>The header spelling of <paramref name="type"/>, e.g. <c>F16</c>.</summary>
    public static string Name(SafetensorsDType type) => ByName.First(p => p.Value == type).Key;

    /// <summary>Bytes per element.</summary>
    public static int Size(SafetensorsDType type) => type switch
    {
        SafetensorsDType.Bool or SafetensorsDType.UInt8 or SafetensorsDType.Int8 or SafetensorsDType.Float8E4M3 or SafetensorsDType.Float8E5M2 => 1,
        SafetensorsDType.Int16 or SafetensorsDType.UInt16 or SafetensorsDType.Float16 or SafetensorsDType.BFloat16 => 2,
        SafetensorsDType.Int32 or SafetensorsDType.UInt32 or SafetensorsDType.Float32 => 4,
        _ => 8,
    };

    /// <summary>Whether <see cref="SafetensorsFile.ReadFloat32(string)"/> converts this type (F32, F16, BF16, F64, F8_E4M3, F8_E5M2).</summary>
    public static bool ConvertsToFloat32(SafetensorsDType type) =>
        type is SafetensorsDType.Float32 or SafetensorsDType.Float16 or SafetensorsDType.BFloat16 or SafetensorsDType.Float64
            or SafetensorsDType.Float8E4M3 or SafetensorsDType.Float8E5M2;
}
