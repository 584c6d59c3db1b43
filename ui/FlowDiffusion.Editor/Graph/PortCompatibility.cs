using FlowDiffusion.Engine.Schema;

namespace FlowDiffusion.Editor.Graph;

/// <summary>
/// Which port types connect, from the engine's own <see cref="PortType.Accepts"/>: the canvas script gets each
/// input's accepted type names, and the search box lists the node types a dragged link can wire into.
/// </summary>
public sealed class PortCompatibility
{
    private readonly NodeCatalog _catalog;
    private readonly Dictionary<PortType, string> _accepted = [];

    /// <summary>Reads every port type the catalog's nodes use.</summary>
    public PortCompatibility(NodeCatalog catalog)
    {
        _catalog = catalog;
        var types = catalog.All.SelectMany(n => n.Inputs.Concat(n.Outputs)).Select(p => p.Type).Distinct().ToList();
        foreach (var type in types)
            _accepted[type] = string.Join(' ', types.Where(type.Accepts).Select(t => t.Name).Distinct(StringComparer.Ordinal));
    }

    /// <summary>The node types read.</summary>
    public NodeCatalog Catalog => _catalog;

    /// <summary>The names of the output types an input of <paramref name="type"/> accepts, space separated.</summary>
    public string AcceptedNames(PortType type) => _accepted.TryGetValue(type, out var names) ? names : type.Name;

    /// <summary>The node types with an input that accepts <paramref name="output"/>, and that input.</summary>
    public IEnumerable<(NodeDescriptor Node, PortDescriptor Port)> Consumers(PortType output) =>
        _catalog.All.SelectMany(n => n.Inputs.Where(p => p.Type.Accepts(output)).Take(1).Select(p => (n, p)));

    /// <summary>The node types with an output that an input of <paramref name="input"/> accepts, and that output.</summary>
    public IEnumerable<(NodeDescriptor Node, PortDescriptor Port)> Producers(PortType input) =>
        _catalog.All.SelectMany(n => n.Outputs.Where(p => input.Accepts(p.Type)).Take(1).Select(p => (n, p)));
}
