using System.Reflection;

namespace FlowDiffusion.Engine.Schema;

/// <summary>An input or output port of a node type.</summary>
/// <param name="Name">The port name in YAML (snake_case).</param>
/// <param name="Type">The value type.</param>
/// <param name="Description">What the port carries.</param>
/// <param name="Optional">Whether an input may stay unconnected (always false for outputs).</param>
/// <param name="Property">The declaring property.</param>
public sealed record PortDescriptor(string Name, PortType Type, string Description, bool Optional, PropertyInfo Property);
