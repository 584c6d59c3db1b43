using System.Globalization;
using System.Text;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Validation;

/// <summary>
/// Checks a workflow against the node catalog and the values set for its inputs, reporting every problem at once,
/// and turns a valid one into an <see cref="ExecutionPlan"/>.
/// </summary>
public static class WorkflowValidator
{
    /// <summary>Validates <paramref name="workflow"/> with <paramref name="inputValues"/> applied over the input defaults.</summary>
    /// <param name="workflow">The workflow.</param>
    /// <param name="catalog">The known node types.</param>
    /// <param name="inputValues">Values for workflow inputs (CLI <c>--set</c>, API body); text is parsed by the input's type.</param>
    /// <param name="earlier">Diagnostics already found while reading (they are included in the result).</param>
    public static ValidationResult Validate(Workflow workflow, NodeCatalog catalog, IReadOnlyDictionary<string, object?>? inputValues = null, IEnumerable<Diagnostic>? earlier = null)
    {
        var diagnostics = new List<Diagnostic>(earlier ?? []);
        workflow = BypassedNodes.PassThrough(workflow, catalog, diagnostics);
        var file = workflow.SourceFile;
        void Error(string message, string? node, SourceLocation? at) => diagnostics.Add(Diagnostic.Error(message, node, at, file));
        workflow = InputChoices.Resolved(workflow, catalog, (input, message) => Error(message, null, input.Location));

        var inputs = ResolveInputs(workflow, inputValues, diagnostics);

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in workflow.Nodes)
        {
            if (!ids.TryAdd(node.Id, ids.Count))
                Error("duplicate node id", node.Id, node.Location);
        }

        var descriptors = new NodeDescriptor?[workflow.Nodes.Count];
        var usedInputs = new HashSet<string>(StringComparer.Ordinal);
        var resolved = new List<KeyValuePair<ParameterDescriptor, object?>>[workflow.Nodes.Count];
        for (var i = 0; i < workflow.Nodes.Count; i++)
        {
            var node = workflow.Nodes[i];
            resolved[i] = [];
            if (node.Type.Length == 0) continue;
            var descriptor = catalog.Find(node.Type);
            if (descriptor is null)
            {
                var near = catalog.Suggest(node.Type);
                Error($"unknown node type '{node.Type}'" + (near.Count > 0 ? $"; did you mean {string.Join(" or ", near.Select(n => $"'{n}'"))}?" : "; run 'flowdiffusion nodes' to list the node types"), node.Id, node.Location);
                foreach (var parameter in node.Parameters)
                    if (parameter.Value is InputReference r) usedInputs.Add(r.InputName);
                continue;
            }
            descriptors[i] = descriptor;
            CheckParameters(workflow, node, descriptor, inputs, usedInputs, resolved[i], Error);
        }

        var edges = new List<PlannedEdge>[workflow.Nodes.Count];
        for (var i = 0; i < workflow.Nodes.Count; i++)
        {
            edges[i] = [];
            var node = workflow.Nodes[i];
            var descriptor = descriptors[i];
            foreach (var edge in node.Inputs)
            {
                var port = descriptor?.Input(edge.Port);
                if (descriptor is not null && port is null)
                {
                    var hint = descriptor.Parameter(edge.Port) is not null ? $"; '{edge.Port}' is a parameter, set it under 'with:'"
                        : NodeCatalog.Closest(edge.Port, descriptor.Inputs.Select(p => p.Name)) is [var best, ..] ? $"; did you mean '{best}'?"
                        : $"; its inputs are: {string.Join(", ", descriptor.Inputs.Select(p => p.Name))}";
                    Error($"'{descriptor.Id}' has no input port '{edge.Port}'{hint}", node.Id, edge.Location);
                }
                if (!ids.TryGetValue(edge.SourceNode, out var source))
                {
                    var near = NodeCatalog.Closest(edge.SourceNode, ids.Keys);
                    Error($"input '{edge.Port}' reads from unknown node '{edge.SourceNode}'" + (near.Count > 0 ? $"; did you mean '{near[0]}'?" : ""), node.Id, edge.Location);
                    continue;
                }
                var sourceDescriptor = descriptors[source];
                if (sourceDescriptor is null) continue;
                var output = sourceDescriptor.Output(edge.SourceOutput);
                if (output is null)
                {
                    Error($"node '{edge.SourceNode}' ({sourceDescriptor.Id}) has no output '{edge.SourceOutput}'; its outputs are: {string.Join(", ", sourceDescriptor.Outputs.Select(p => p.Name))}", node.Id, edge.Location);
                    continue;
                }
                if (port is null) continue;
                if (!port.Type.Accepts(output.Type))
                {
                    Error($"type mismatch: input '{port.Name}' takes {port.Type.Name} but '{edge.Source}' gives {output.Type.Name}", node.Id, edge.Location);
                    continue;
                }
                edges[i].Add(new PlannedEdge(port, source, output));
            }
            if (descriptor is null) continue;
            foreach (var port in descriptor.Inputs.Where(p => !p.Optional && node.Edge(p.Name) is null))
                Error($"missing required input '{port.Name}' ({port.Type.Name}); connect it under 'in:', e.g. '{port.Name}: some_node.output'", node.Id, node.Location);
        }

        foreach (var input in workflow.Inputs.Where(input => !usedInputs.Contains(input.Name)))
            diagnostics.Add(Diagnostic.Warning($"workflow input '{input.Name}' is not used by any node", null, input.Location, file));

        var order = TopologicalOrder(workflow, ids, out var cycle);
        if (cycle is not null)
            Error($"cycle: {string.Join(" -> ", cycle)}; a workflow must be a DAG (loops live inside nodes such as 'sample')", cycle[0], workflow.Node(cycle[0])?.Location);

        if (diagnostics.Any(d => d.IsError) || order is null)
            return new ValidationResult(diagnostics, null);

        var position = new int[workflow.Nodes.Count];
        for (var i = 0; i < order.Count; i++) position[order[i]] = i;
        var planned = order.Select(i => new PlannedNode(
            position[i],
            workflow.Nodes[i].Id,
            descriptors[i]!,
            resolved[i],
            edges[i].Select(e => e with { SourceIndex = position[e.SourceIndex] }).ToList(),
            Fingerprint(resolved[i]))).ToList();
        return new ValidationResult(diagnostics, new ExecutionPlan(workflow, planned, inputs));
    }

    private static Dictionary<string, object?> ResolveInputs(Workflow workflow, IReadOnlyDictionary<string, object?>? values, List<Diagnostic> diagnostics)
    {
        var file = workflow.SourceFile;
        var resolved = new Dictionary<string, object?>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in workflow.Inputs)
        {
            if (!seen.Add(input.Name))
            {
                diagnostics.Add(Diagnostic.Error($"workflow input '{input.Name}' is declared twice", null, input.Location, file));
                continue;
            }
            object? value = input.Default;
            if (value is not null && InputValues.Check(input, value) is { } defaultError)
                diagnostics.Add(Diagnostic.Error($"workflow input '{input.Name}': default {defaultError}", null, input.Location, file));
            resolved[input.Name] = value;
        }
        foreach (var (name, raw) in values ?? new Dictionary<string, object?>())
        {
            var input = workflow.Input(name);
            if (input is null)
            {
                var near = NodeCatalog.Closest(name, workflow.Inputs.Select(i => i.Name));
                diagnostics.Add(Diagnostic.Error($"the workflow has no input '{name}'" +
                    (near.Count > 0 ? $"; did you mean '{near[0]}'?" : workflow.Inputs.Count > 0 ? $"; its inputs are: {string.Join(", ", workflow.Inputs.Select(i => i.Name))}" : "; it declares no inputs"), null, null, file) with { Input = name });
                continue;
            }
            var value = raw;
            if (raw is string text && input.Type != ParameterValueType.String && InputValues.Parse(input, text, out value) is { } parseError)
            {
                diagnostics.Add(Diagnostic.Error(parseError, null, input.Location, file) with { Input = name, InputText = text });
                continue;
            }
            if (InputValues.Check(input, value) is { } error)
            {
                diagnostics.Add(Diagnostic.Error(error, null, input.Location, file) with { Input = name });
                continue;
            }
            resolved[name] = value;
        }
        return resolved;
    }

    private static void CheckParameters(Workflow workflow, WorkflowNode node, NodeDescriptor descriptor, Dictionary<string, object?> inputs,
        HashSet<string> usedInputs, List<KeyValuePair<ParameterDescriptor, object?>> resolved, Action<string, string?, SourceLocation?> error)
    {
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parameter in node.Parameters)
        {
            given.Add(parameter.Name);
            var declared = descriptor.Parameter(parameter.Name);
            if (parameter.Value is InputReference reference) usedInputs.Add(reference.InputName);
            if (declared is null)
            {
                var hint = descriptor.Input(parameter.Name) is not null ? $"; '{parameter.Name}' is an input port, connect it under 'in:'"
                    : NodeCatalog.Closest(parameter.Name, descriptor.Parameters.Select(p => p.Name)) is [var best, ..] ? $"; did you mean '{best}'?"
                    : descriptor.Parameters.Count > 0 ? $"; its parameters are: {string.Join(", ", descriptor.Parameters.Select(p => p.Name))}" : "; it has no parameters";
                error($"'{descriptor.Id}' has no parameter '{parameter.Name}'{hint}", node.Id, parameter.Location);
                continue;
            }
            object? value;
            if (parameter.Value is InputReference r)
            {
                var input = workflow.Input(r.InputName);
                if (input is null)
                {
                    var near = NodeCatalog.Closest(r.InputName, workflow.Inputs.Select(i => i.Name));
                    error($"parameter '{parameter.Name}' is bound to unknown workflow input '${r.InputName}'" + (near.Count > 0 ? $"; did you mean '${near[0]}'?" : "; declare it under 'inputs:'"), node.Id, parameter.Location);
                    continue;
                }
                if (!ParameterConverter.Compatible(input.Type, declared.ValueType))
                {
                    error($"parameter '{parameter.Name}' takes {ParameterConverter.Describe(declared.ValueType)} but workflow input '${input.Name}' is {ParameterConverter.Describe(input.Type)}", node.Id, parameter.Location);
                    continue;
                }
                value = inputs.GetValueOrDefault(r.InputName);
                if (value is null && declared.Required)
                {
                    error($"parameter '{parameter.Name}' is required, and workflow input '${input.Name}' has no value; give it a default or a value", node.Id, parameter.Location);
                    continue;
                }
                if (value is null) continue;
            }
            else
            {
                value = ((LiteralValue)parameter.Value).Value;
            }
            if (ParameterConverter.TryConvert(value, declared, out var converted) is { } problem)
            {
                var via = parameter.Value is InputReference bound ? $" (from workflow input '${bound.InputName}')" : "";
                error($"parameter '{parameter.Name}'{via}: {problem}", node.Id, parameter.Location);
                continue;
            }
            resolved.Add(new(declared, converted));
        }
        foreach (var missing in descriptor.Parameters.Where(p => p.Required && !given.Contains(p.Name)))
            error($"missing required parameter '{missing.Name}' ({ParameterConverter.Describe(missing.ValueType)}); set it under 'with:'", node.Id, node.Location);
    }

    private static List<int>? TopologicalOrder(Workflow workflow, Dictionary<string, int> ids, out List<string>? cycle)
    {
        cycle = null;
        var count = workflow.Nodes.Count;
        var successors = new List<int>[count];
        var indegree = new int[count];
        for (var i = 0; i < count; i++) successors[i] = [];
        for (var i = 0; i < count; i++)
        foreach (var source in workflow.Nodes[i].Inputs.Select(e => ids.TryGetValue(e.SourceNode, out var s) ? s : -1).Where(s => s >= 0).Distinct())
        {
            successors[source].Add(i);
            indegree[i]++;
        }
        var ready = new Queue<int>(Enumerable.Range(0, count).Where(i => indegree[i] == 0));
        var order = new List<int>(count);
        while (ready.Count > 0)
        {
            var node = ready.Dequeue();
            order.Add(node);
            foreach (var next in successors[node])
                if (--indegree[next] == 0) ready.Enqueue(next);
        }
        if (order.Count == count) return order;
        cycle = FindCycle(workflow, ids, indegree);
        return null;
    }

    private static List<string> FindCycle(Workflow workflow, Dictionary<string, int> ids, int[] indegree)
    {
        // Walk backwards along inputs inside the unresolved part; some node must repeat.
        var start = Array.FindIndex(indegree, d => d > 0);
        var path = new List<int>();
        var seenAt = new Dictionary<int, int>();
        var current = start;
        while (!seenAt.ContainsKey(current))
        {
            seenAt[current] = path.Count;
            path.Add(current);
            current = workflow.Nodes[current].Inputs
                .Select(e => ids.TryGetValue(e.SourceNode, out var s) ? s : -1)
                .First(s => s >= 0 && indegree[s] > 0);
        }
        var loop = path.Skip(seenAt[current]).Reverse().Select(i => workflow.Nodes[i].Id).ToList();
        loop.Add(loop[0]);
        return loop;
    }

    private static string Fingerprint(List<KeyValuePair<ParameterDescriptor, object?>> parameters)
    {
        var builder = new StringBuilder();
        foreach (var (parameter, value) in parameters.OrderBy(p => p.Key.Name, StringComparer.Ordinal))
        {
            builder.Append(parameter.Name).Append('=');
            Append(builder, value);
            builder.Append(';');
        }
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, object? value)
    {
        switch (value)
        {
            case null:
                builder.Append('~');
                break;
            case string s:
                builder.Append('"').Append(s.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append('"');
                break;
            case Array array:
                builder.Append('[');
                foreach (var item in array) { Append(builder, item); builder.Append(','); }
                builder.Append(']');
                break;
            case IFormattable f:
                builder.Append(f.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                builder.Append(value);
                break;
        }
    }
}
