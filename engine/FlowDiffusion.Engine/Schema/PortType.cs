using System.Reflection;
using System.Runtime.CompilerServices;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Schema;

/// <summary>The identity of a port's value type: its display name, colour and CLR type.</summary>
public sealed record PortType(string Name, string Color, Type ClrType)
{
    // Weak keys: a plugin's own port types must not keep its load context from being unloaded after a rebuild.
    private static readonly ConditionalWeakTable<Type, PortType> Known = new();

    /// <summary>The port type of a CLR type, named by its <see cref="PortTypeAttribute"/> or after the type.</summary>
    public static PortType Of(Type type) => Known.GetValue(type, static t =>
    {
        var attribute = t.GetCustomAttribute<PortTypeAttribute>();
        if (attribute is not null) return new PortType(attribute.Name, attribute.Color, t);
        return Type.GetTypeCode(t) switch
        {
            TypeCode.String => new PortType("STRING", "#a5d6a7", t),
            TypeCode.Boolean => new PortType("BOOLEAN", "#90a4ae", t),
            TypeCode.Int32 or TypeCode.Int64 => new PortType("INT", "#80cbc4", t),
            TypeCode.Single or TypeCode.Double => new PortType("FLOAT", "#80deea", t),
            _ => new PortType(t.Name.ToUpperInvariant(), "#bdbdbd", t),
        };
    });

    /// <summary>Whether an output of type <paramref name="source"/> may connect to a port of this type.</summary>
    public bool Accepts(PortType source) => ClrType.IsAssignableFrom(source.ClrType);

    /// <summary>Whether <paramref name="value"/> is a valid value for this port.</summary>
    public bool IsInstance(object? value) => value is not null && ClrType.IsInstanceOfType(value);

    /// <inheritdoc />
    public override string ToString() => Name;
}
