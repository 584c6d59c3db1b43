using System.Globalization;
using System.Text;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// Reads workflow YAML into a <see cref="Workflow"/>, reporting every structural problem at once with its line.
/// Semantic checks against the node catalog are the <see cref="WorkflowValidator"/>'s job.
/// </summary>
public static class WorkflowYamlReader
{
    private static readonly string[] TopKeys = ["flowdiffusion", "name", "description", "inputs", "nodes", "editor"];
    private static readonly string[] NodeKeys = ["node", "title", "bypass", "in", "with"];
    private static readonly string[] InputKeys = ["type", "default", "min", "max", "choices", "description", "kind"];

    /// <summary>Reads a workflow file.</summary>
    public static WorkflowLoadResult ReadFile(string path, WorkflowLimits? limits = null)
    {
        limits ??= WorkflowLimits.Default;
        var info = new FileInfo(path);
        if (!info.Exists)
            return Fail($"workflow file not found: {Path.GetFullPath(path)}", path);
        if (info.Length > limits.MaxBytes)
            return Fail($"the file is {Count(info.Length)} bytes; workflows are limited to {Count(limits.MaxBytes)} bytes", path);
        return Read(File.ReadAllText(path), path, limits);
    }

    /// <summary>Reads workflow YAML text.</summary>
    /// <param name="text">The YAML.</param>
    /// <param name="file">The file name used in diagnostics.</param>
    /// <param name="limits">Size limits.</param>
    public static WorkflowLoadResult Read(string text, string? file = null, WorkflowLimits? limits = null)
    {
        limits ??= WorkflowLimits.Default;
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > limits.MaxBytes)
            return Fail($"the workflow is {Count(bytes)} bytes; workflows are limited to {Count(limits.MaxBytes)} bytes", file);

        if (YamlFlowDepth.FirstLineBeyond(text, limits.MaxDepth) is > 0 and var deepLine)
            return new WorkflowLoadResult(null, [Diagnostic.Error(TooDeep(limits), null, new SourceLocation(deepLine, 1), file)]);

        var diagnostics = new List<Diagnostic>();
        if (!RefuseAnchors(text, file, limits, diagnostics))
            return new WorkflowLoadResult(null, diagnostics);

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            return new WorkflowLoadResult(null, [Diagnostic.Error($"malformed YAML: {Inner(e).Message}", null, At(e.Start), file)]);
        }
        catch (ArgumentException)
        {
            // YamlDotNet's document model throws this for event sequences it cannot represent (an empty complex key, say).
            return Fail("malformed YAML: a construct a workflow cannot hold (an empty or complex '?' mapping key); write plain 'key: value' pairs", file);
        }
        if (stream.Documents.Count != 1)
            return Fail(stream.Documents.Count == 0 ? "the file is empty; a workflow needs 'flowdiffusion: 1' and 'nodes:'" : "the file holds several YAML documents; a workflow is one", file);
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            return new WorkflowLoadResult(null, [Diagnostic.Error("a workflow is a mapping with 'flowdiffusion:', 'name:' and 'nodes:'", null, At(stream.Documents[0].RootNode.Start), file)]);

        var reader = new Reader(file, diagnostics);
        var workflow = reader.ReadWorkflow(root, limits);
        return new WorkflowLoadResult(workflow, diagnostics);
    }

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string TooDeep(WorkflowLimits limits) =>
        $"the YAML nests more than {limits.MaxDepth} levels deep (the workflow depth limit); a workflow needs a handful";

    private static Exception Inner(YamlException e) => e.InnerException is YamlException inner ? inner : e;

    private static WorkflowLoadResult Fail(string message, string? file) => new(null, [Diagnostic.Error(message, null, null, file)]);

    private static SourceLocation At(Mark mark) => new((int)mark.Line, (int)mark.Column);

    // Anchors and aliases are refused outright: workflows never need them, and alias expansion is the classic YAML bomb.
    // The same walk bounds nesting exactly (block collections included), before the recursive node builder runs.
    private static bool RefuseAnchors(string text, string? file, WorkflowLimits limits, List<Diagnostic> diagnostics)
    {
        var last = Mark.Empty;
        var depth = 0;
        try
        {
            var parser = new Parser(new StringReader(text));
            while (parser.MoveNext())
            {
                last = parser.Current!.End;
                if (parser.Current is MappingStart or SequenceStart && ++depth > limits.MaxDepth)
                {
                    diagnostics.Add(Diagnostic.Error(TooDeep(limits), null, At(parser.Current.Start), file));
                    break;
                }
                if (parser.Current is MappingEnd or SequenceEnd) depth--;
                switch (parser.Current)
                {
                    case AnchorAlias alias:
                        diagnostics.Add(Diagnostic.Error($"YAML aliases (*{alias.Value}) are not allowed in workflows; write the value out", null, At(alias.Start), file));
                        break;
                    case NodeEvent { Anchor.IsEmpty: false } node:
                        diagnostics.Add(Diagnostic.Error($"YAML anchors (&{node.Anchor.Value}) are not allowed in workflows; write the value out", null, At(node.Start), file));
                        break;
                }
                if (diagnostics.Count >= 20) break;
            }
        }
        catch (YamlException e)
        {
            diagnostics.Add(Diagnostic.Error($"malformed YAML: {Inner(e).Message}", null, At(e.Start), file));
        }
        catch (ArgumentException)
        {
            // YamlDotNet throws this instead of a YamlException for a malformed tag (e.g. "!!]str": not a valid URI).
            diagnostics.Add(Diagnostic.Error("malformed YAML: a tag ('!' or '!!' before a value) after this point is not valid; workflows need no tags, remove it", null, At(last), file));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this instead of a YamlException on some unclosed flow collections.
            diagnostics.Add(Diagnostic.Error("malformed YAML: the text after this point could not be parsed; look for an unclosed '{', '[' or quote", null, At(last), file));
        }
        return diagnostics.Count == 0;
    }

    private sealed class Reader(string? file, List<Diagnostic> diagnostics)
    {
        // A JSON document (a flow mapping at the root) has no plain scalars, so there a quoted "$name" binds an input.
        private bool _json;

        public Workflow? ReadWorkflow(YamlMappingNode root, WorkflowLimits limits)
        {
            _json = root.Style == MappingStyle.Flow;
            string name = "", description = "";
            int? format = null;
            var inputs = new List<WorkflowInput>();
            var nodes = new List<WorkflowNode>();
            EditorLayout? editor = null;
            var sawNodes = false;
            foreach (var (keyNode, value) in root.Children)
            {
                var key = Key(keyNode);
                switch (key)
                {
                    case "flowdiffusion":
                        format = value is YamlScalarNode s && YamlScalars.Value(s) is long v ? (int)v : null;
                        if (format != Workflow.FormatVersion)
                            Error($"'flowdiffusion' must be {Workflow.FormatVersion} (the workflow format version this engine reads)", null, value);
                        break;
                    case "name":
                        name = Text(value, "name") ?? "";
                        break;
                    case "description":
                        description = Text(value, "description") ?? "";
                        break;
                    case "inputs":
                        ReadInputs(value, inputs);
                        break;
                    case "nodes":
                        sawNodes = true;
                        ReadNodes(value, nodes, limits);
                        break;
                    case "editor":
                        editor = ReadEditor(value);
                        break;
                    default:
                        Error($"unknown top-level key '{key}'{DidYouMean(key, TopKeys)}; expected one of: {string.Join(", ", TopKeys)}", null, keyNode);
                        break;
                }
            }
            if (format is null && !root.Children.Any(c => Key(c.Key) == "flowdiffusion"))
                Error($"missing 'flowdiffusion: {Workflow.FormatVersion}' (the format version) at the top of the file", null, root);
            if (!sawNodes)
                Error("missing 'nodes:'; a workflow needs at least one node", null, root);
            return new Workflow(name, description, inputs, nodes, editor, file);
        }

        private void ReadInputs(YamlNode value, List<WorkflowInput> inputs)
        {
            if (value is YamlScalarNode { Value: null or "" }) return;
            if (value is not YamlMappingNode map)
            {
                Error("'inputs' must map input names to their type, e.g. 'seed: { type: int, default: 1 }'", null, value);
                return;
            }
            foreach (var (keyNode, body) in map.Children)
            {
                var name = Key(keyNode);
                if (!IsName(name))
                {
                    Error($"input name '{name}' must start with a letter and hold only letters, digits, '_' or '-'", null, keyNode);
                    continue;
                }
                if (body is not YamlMappingNode fields)
                {
                    Error($"input '{name}' must be a mapping with at least 'type:'", null, body);
                    continue;
                }
                ParameterValueType? type = null;
                object? @default = null;
                double? min = null, max = null;
                List<string>? choices = null;
                string? choicesOf = null;
                string description = "";
                string? kind = null;
                foreach (var (fieldKey, fieldValue) in fields.Children)
                {
                    var field = Key(fieldKey);
                    switch (field)
                    {
                        case "type":
                            var typeName = Text(fieldValue, "type");
                            type = typeName is null ? null : ValueTypes.Parse(typeName);
                            if (type is null)
                                Error($"input '{name}': unknown type '{typeName}'; use one of: {string.Join(", ", ValueTypes.Names)}", null, fieldValue);
                            break;
                        case "default":
                            @default = Literal(fieldValue);
                            break;
                        case "min":
                            min = Number(fieldValue, $"input '{name}': 'min'");
                            break;
                        case "max":
                            max = Number(fieldValue, $"input '{name}': 'max'");
                            break;
                        case "choices":
                            switch (Literal(fieldValue))
                            {
                                case List<object?> list:
                                    choices = list.Select(x => Convert.ToString(x, CultureInfo.InvariantCulture) ?? "").ToList();
                                    break;
                                case string reference when reference.Split('.') is [{ Length: > 0 }, { Length: > 0 }]:
                                    choicesOf = reference;
                                    break;
                                default:
                                    Error($"input '{name}': 'choices' must be a list, or the node parameter whose choices it shares (node.parameter, e.g. schedule.name)", null, fieldValue);
                                    break;
                            }
                            break;
                        case "description":
                            description = Text(fieldValue, "description") ?? "";
                            break;
                        case "kind":
                            kind = Text(fieldValue, "kind");
                            break;
                        default:
                            Error($"input '{name}': unknown key '{field}'{DidYouMean(field, InputKeys)}; expected one of: {string.Join(", ", InputKeys)}", null, fieldKey);
                            break;
                    }
                }
                if (type is null && !fields.Children.Any(c => Key(c.Key) == "type"))
                    Error($"input '{name}' needs a 'type:' ({string.Join(", ", ValueTypes.Names)})", null, keyNode);
                inputs.Add(new WorkflowInput(name, type ?? ParameterValueType.String, @default, min, max, choices, description, kind, At(keyNode.Start), choicesOf));
            }
        }

        private void ReadNodes(YamlNode value, List<WorkflowNode> nodes, WorkflowLimits limits)
        {
            if (value is not YamlMappingNode map)
            {
                Error("'nodes' must map node ids to nodes, e.g. 'noise: { node: latent.noise, with: { seed: 1 } }'", null, value);
                return;
            }
            if (map.Children.Count > limits.MaxNodes)
            {
                Error($"the workflow has {Count(map.Children.Count)} nodes; the limit is {Count(limits.MaxNodes)}", null, value);
                return;
            }
            foreach (var (keyNode, body) in map.Children)
            {
                var id = Key(keyNode);
                if (!IsName(id))
                {
                    Error($"node id '{id}' must start with a letter and hold only letters, digits, '_' or '-'", id, keyNode);
                    continue;
                }
                if (body is not YamlMappingNode fields)
                {
                    Error("a node must be a mapping with 'node:' (its type), and optionally 'in:' and 'with:'", id, body);
                    continue;
                }
                string? type = null, title = null;
                var bypass = false;
                var edges = new List<NodeEdge>();
                var parameters = new List<NodeParameter>();
                foreach (var (fieldKey, fieldValue) in fields.Children)
                {
                    var field = Key(fieldKey);
                    switch (field)
                    {
                        case "node":
                            type = Text(fieldValue, "node", id);
                            break;
                        case "title":
                            title = Text(fieldValue, "title", id);
                            break;
                        case "bypass":
                            if (fieldValue is YamlScalarNode { Value: "true" or "false" } flag) bypass = flag.Value == "true";
                            else Error("'bypass' must be true or false", id, fieldValue);
                            break;
                        case "in":
                            ReadEdges(id, fieldValue, edges);
                            break;
                        case "with":
                            ReadParameters(id, fieldValue, parameters);
                            break;
                        default:
                            Error($"unknown key '{field}'{DidYouMean(field, NodeKeys)}; a node has: {string.Join(", ", NodeKeys)}", id, fieldKey);
                            break;
                    }
                }
                if (type is null)
                    Error("missing 'node:' (the node type, e.g. 'node: clip.encode')", id, keyNode);
                nodes.Add(new WorkflowNode(id, type ?? "", edges, parameters, At(keyNode.Start), title, bypass));
            }
        }

        private void ReadEdges(string id, YamlNode value, List<NodeEdge> edges)
        {
            if (value is YamlScalarNode { Value: null or "" }) return;
            if (value is not YamlMappingNode map)
            {
                Error("'in' must map input ports to 'node.output', e.g. 'in: { clip: model.clip }'", id, value);
                return;
            }
            foreach (var (keyNode, source) in map.Children)
            {
                var port = Key(keyNode);
                var text = source is YamlScalarNode s ? s.Value ?? "" : null;
                var dot = text?.IndexOf('.') ?? -1;
                if (text is null || dot <= 0 || dot == text.Length - 1)
                {
                    Error($"input '{port}': an edge is written 'node.output', not '{text ?? source.NodeType.ToString()}'" +
                          (text is not null && text.StartsWith('$') ? "; workflow inputs ($name) go under 'with:'" : ""), id, source);
                    continue;
                }
                edges.Add(new NodeEdge(port, text[..dot], text[(dot + 1)..], At(source.Start)));
            }
        }

        private void ReadParameters(string id, YamlNode value, List<NodeParameter> parameters)
        {
            if (value is YamlScalarNode { Value: null or "" }) return;
            if (value is not YamlMappingNode map)
            {
                Error("'with' must map parameter names to values, e.g. 'with: { seed: 42 }'", id, value);
                return;
            }
            foreach (var (keyNode, literal) in map.Children)
            {
                var name = Key(keyNode);
                ParameterValue parameter;
                if (literal is YamlScalarNode { Value: ['$', ..] reference } scalar && (scalar.Style == ScalarStyle.Plain || _json))
                    parameter = reference.StartsWith("$$", StringComparison.Ordinal) ? new LiteralValue(reference[1..]) : new InputReference(reference[1..]);
                else if (literal is YamlMappingNode { Children.Count: 1 } explicitReference && explicitReference.Children.First() is var (referenceKey, referenceName)
                         && referenceKey is YamlScalarNode { Value: "$input" })
                {
                    // { $input: seed } binds input 'seed' wherever a quoted "$seed" would be a literal.
                    if (referenceName is not YamlScalarNode { Value: { Length: > 0 } inputName })
                    {
                        Error($"parameter '{name}': '$input' must name a workflow input, e.g. {{ \"$input\": \"seed\" }}", id, referenceName);
                        continue;
                    }
                    parameter = new InputReference(inputName);
                }
                else
                    parameter = new LiteralValue(Literal(literal));
                parameters.Add(new NodeParameter(name, parameter, At(literal.Start)));
            }
        }

        private const string EditorKeys = "'positions', 'viewport', 'randomize', 'increment', 'decrement', 'collapsed', 'advanced', 'pinned', 'colors', 'groups', 'reroutes' and 'routes'";

        private EditorLayout? ReadEditor(YamlNode value)
        {
            if (value is not YamlMappingNode map)
            {
                Error($"'editor' must be a mapping ({EditorKeys})", null, value);
                return null;
            }
            var positions = new List<KeyValuePair<string, NodePosition>>();
            (double, double, double)? viewport = null;
            var seeds = new List<KeyValuePair<string, SeedControl>>();
            List<string>? collapsed = null, advanced = null, pinned = null;
            List<KeyValuePair<string, NodeColor>>? colors = null;
            List<EditorGroup>? groups = null;
            List<KeyValuePair<string, NodePosition>>? reroutes = null;
            List<KeyValuePair<string, IReadOnlyList<string>>>? routes = null;
            foreach (var (keyNode, body) in map.Children)
            {
                var key = Key(keyNode);
                switch (key)
                {
                    case "positions":
                        positions = ReadPoints(body, "position") ?? positions;
                        break;
                    case "viewport":
                        if (Literal(body) is List<object?> and [var vx, var vy, var vz] && ToDouble(vx) is { } x0 && ToDouble(vy) is { } y0 && ToDouble(vz) is { } z0)
                            viewport = (x0, y0, z0);
                        else
                            Error("editor viewport must be [x, y, zoom]", null, body);
                        break;
                    case "collapsed":
                        collapsed = ReadNames(key, body);
                        break;
                    case "advanced":
                        advanced = ReadNames(key, body);
                        break;
                    case "pinned":
                        pinned = ReadNames(key, body);
                        break;
                    case "colors":
                        colors = ReadColors(body);
                        break;
                    case "groups":
                        groups = ReadGroups(body);
                        break;
                    case "reroutes":
                        reroutes = ReadPoints(body, "reroute");
                        break;
                    case "routes":
                        routes = ReadRoutes(body);
                        break;
                    default:
                        if (EditorLayout.SeedControlKeys.FirstOrDefault(k => k.Key == key) is { Key: not null } mode)
                            ReadSeedControls(key, mode.Value, body, seeds);
                        else
                            Error($"unknown editor key '{key}'; the editor section has {EditorKeys}", null, keyNode);
                        break;
                }
            }
            return new EditorLayout(positions, viewport, seeds.Count > 0 ? seeds : null, collapsed, pinned, colors, groups, reroutes, routes, advanced);
        }

        // `positions:` and `reroutes:`: a mapping of id → [x, y].
        private List<KeyValuePair<string, NodePosition>>? ReadPoints(YamlNode body, string what)
        {
            if (body is not YamlMappingNode entries)
            {
                Error($"editor {what}s must be a mapping of id to [x, y]", null, body);
                return null;
            }
            var points = new List<KeyValuePair<string, NodePosition>>();
            foreach (var (idNode, xy) in entries.Children)
            {
                if (Literal(xy) is List<object?> and [var x, var y] && ToDouble(x) is { } px && ToDouble(y) is { } py)
                    points.Add(new(Key(idNode), new NodePosition(px, py)));
                else
                    Error($"editor {what} of '{Key(idNode)}' must be [x, y]", null, xy);
            }
            return points;
        }

        // `collapsed:`, `advanced:` and `pinned:`: a list of node ids.
        private List<string>? ReadNames(string key, YamlNode body)
        {
            if (body is not YamlSequenceNode list || list.Children.Any(c => c is not YamlScalarNode { Value.Length: > 0 }))
            {
                Error($"editor {key} must be a list of node ids, e.g. '{key}: [vae, decode]'", null, body);
                return null;
            }
            return list.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        }

        // `colors:`: node id → { title: CSS colour, body: CSS colour }, either optional.
        private List<KeyValuePair<string, NodeColor>>? ReadColors(YamlNode body)
        {
            if (body is not YamlMappingNode entries)
            {
                Error("editor colors must be a mapping of node id to { title: colour, body: colour }", null, body);
                return null;
            }
            var colors = new List<KeyValuePair<string, NodeColor>>();
            foreach (var (idNode, entry) in entries.Children)
            {
                string? title = null, bodyColor = null;
                var ok = entry is YamlMappingNode fields && fields.Children.All(f => Key(f.Key) switch
                {
                    "title" => (title = Text(f.Value, "color title")) is not null,
                    "body" => (bodyColor = Text(f.Value, "color body")) is not null,
                    _ => false,
                });
                if (ok) colors.Add(new(Key(idNode), new NodeColor(title, bodyColor)));
                else Error($"editor colors of '{Key(idNode)}' must be {{ title: colour, body: colour }}", null, entry);
            }
            return colors;
        }

        // `groups:`: a list of { title, box: [x, y, width, height], color? }.
        private List<EditorGroup>? ReadGroups(YamlNode body)
        {
            if (body is not YamlSequenceNode list)
            {
                Error("editor groups must be a list of { title: ..., box: [x, y, width, height], color: ... }", null, body);
                return null;
            }
            var groups = new List<EditorGroup>();
            foreach (var entry in list.Children)
            {
                string? title = null, color = null;
                double[]? box = null;
                var ok = entry is YamlMappingNode fields && fields.Children.All(f => Key(f.Key) switch
                {
                    "title" => (title = Text(f.Value, "group title")) is not null,
                    "color" => (color = Text(f.Value, "group color")) is not null,
                    "box" => (box = Literal(f.Value) is List<object?> { Count: 4 } numbers && numbers.Select(ToDouble).ToList() is var values && values.All(v => v is not null)
                        ? values.Select(v => v!.Value).ToArray() : null) is not null,
                    _ => false,
                });
                if (ok && title is not null && box is not null) groups.Add(new EditorGroup(title, box[0], box[1], box[2], box[3], color));
                else Error("an editor group must be { title: ..., box: [x, y, width, height], color: ... } (color optional)", null, entry);
            }
            return groups;
        }

        // `routes:`: input (node.port) → the reroute ids its link passes, source first.
        private List<KeyValuePair<string, IReadOnlyList<string>>>? ReadRoutes(YamlNode body)
        {
            if (body is not YamlMappingNode entries)
            {
                Error("editor routes must be a mapping of input (node.port) to a list of reroute ids", null, body);
                return null;
            }
            var routes = new List<KeyValuePair<string, IReadOnlyList<string>>>();
            foreach (var (inputNode, ids) in entries.Children)
            {
                if (ids is YamlSequenceNode list && list.Children.All(c => c is YamlScalarNode { Value.Length: > 0 }))
                    routes.Add(new(Key(inputNode), list.Children.Select(c => ((YamlScalarNode)c).Value!).ToList()));
                else
                    Error($"editor route of '{Key(inputNode)}' must be a list of reroute ids", null, ids);
            }
            return routes;
        }

        // One mode's list of seeds (workflow input names and node.parameter names); a seed has one mode.
        private void ReadSeedControls(string key, SeedControl mode, YamlNode body, List<KeyValuePair<string, SeedControl>> seeds)
        {
            if (body is not YamlSequenceNode list)
            {
                Error($"editor {key} must be a list of seed names, e.g. '{key}: [seed, noise.seed]'", null, body);
                return;
            }
            foreach (var entry in list.Children)
            {
                if (entry is not YamlScalarNode { Value: { Length: > 0 } seed } || Literal(entry) is not string)
                {
                    Error($"editor {key} lists seed names (a workflow input, or node.parameter); this entry is not one", null, entry);
                    continue;
                }
                if (seeds.FirstOrDefault(s => s.Key == seed) is { Key: not null } earlier)
                {
                    Error(earlier.Value == mode
                        ? $"seed '{seed}' is listed twice under editor {key}; list it once"
                        : $"seed '{seed}' is listed under both editor {KeyOf(earlier.Value)} and {key}; a seed has one mode, keep it in one list", null, entry);
                    continue;
                }
                seeds.Add(new(seed, mode));
            }
        }

        private static string KeyOf(SeedControl mode) => EditorLayout.SeedControlKeys.First(k => k.Value == mode).Key;

        private object? Literal(YamlNode node) => node switch
        {
            YamlScalarNode s => YamlScalars.Value(s),
            YamlSequenceNode seq => seq.Children.Select(Literal).ToList(),
            _ => ErrorValue("a mapping is not a valid value here", node),
        };

        private object? ErrorValue(string message, YamlNode node)
        {
            Error(message, null, node);
            return null;
        }

        private double? Number(YamlNode node, string what)
        {
            var value = ToDouble(Literal(node));
            if (value is null) Error($"{what} must be a number", null, node);
            return value;
        }

        private static double? ToDouble(object? value) => value switch
        {
            long l => l,
            double d => d,
            _ => null,
        };

        private string? Text(YamlNode node, string what, string? id = null)
        {
            if (node is YamlScalarNode s) return s.Value;
            Error($"'{what}' must be text", id, node);
            return null;
        }

        private string Key(YamlNode node) => node is YamlScalarNode s ? s.Value ?? "" : ErrorKey(node);

        private string ErrorKey(YamlNode node)
        {
            Error("keys must be plain names", null, node);
            return "";
        }

        private static bool IsName(string text) =>
            text.Length > 0 && char.IsAsciiLetter(text[0]) && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

        private static string DidYouMean(string key, IEnumerable<string> known) =>
            NodeCatalog.Closest(key, known) is [var best, ..] ? $" (did you mean '{best}'?)" : "";

        private void Error(string message, string? nodeId, YamlNode at) => diagnostics.Add(Diagnostic.Error(message, nodeId, At(at.Start), file));
    }
}
