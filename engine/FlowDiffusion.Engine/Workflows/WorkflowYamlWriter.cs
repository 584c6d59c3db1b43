using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// Writes a <see cref="Workflow"/> as YAML with a fixed key order and block style, so saved files are stable and
/// diff well; small lists (positions, number lists) stay on one line.
/// </summary>
public static class WorkflowYamlWriter
{
    /// <summary>The workflow as YAML text.</summary>
    public static string Write(Workflow workflow)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var emitter = new Emitter(writer, new EmitterSettings().WithBestIndent(2).WithBestWidth(int.MaxValue));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        emitter.Emit(new MappingStart());

        Key(emitter, "flowdiffusion");
        Scalar(emitter, Workflow.FormatVersion.ToString(CultureInfo.InvariantCulture));
        Key(emitter, "name");
        Text(emitter, workflow.Name);
        if (workflow.Description.Length > 0)
        {
            Key(emitter, "description");
            Text(emitter, workflow.Description);
        }
        if (workflow.Inputs.Count > 0)
        {
            Key(emitter, "inputs");
            emitter.Emit(new MappingStart());
            foreach (var input in workflow.Inputs) WriteInput(emitter, input);
            emitter.Emit(new MappingEnd());
        }
        Key(emitter, "nodes");
        emitter.Emit(new MappingStart());
        foreach (var node in workflow.Nodes) WriteNode(emitter, node);
        emitter.Emit(new MappingEnd());
        if (workflow.Editor is { } editor) WriteEditor(emitter, editor);

        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    private static void WriteInput(IEmitter emitter, WorkflowInput input)
    {
        Key(emitter, input.Name);
        emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Flow));
        Key(emitter, "type");
        Scalar(emitter, ValueTypes.Name(input.Type));
        if (input.Default is not null)
        {
            Key(emitter, "default");
            Value(emitter, input.Default);
        }
        if (input.Min is { } min)
        {
            Key(emitter, "min");
            Value(emitter, min);
        }
        if (input.Max is { } max)
        {
            Key(emitter, "max");
            Value(emitter, max);
        }
        if (input.ChoicesOf is { } choicesOf)
        {
            Key(emitter, "choices");
            Text(emitter, choicesOf);
        }
        else if (input.Choices is { Count: > 0 } choices)
        {
            Key(emitter, "choices");
            Value(emitter, choices.Cast<object?>().ToList());
        }
        if (input.Kind is { } kind)
        {
            Key(emitter, "kind");
            Text(emitter, kind);
        }
        if (input.Description.Length > 0)
        {
            Key(emitter, "description");
            Text(emitter, input.Description);
        }
        emitter.Emit(new MappingEnd());
    }

    private static void WriteNode(IEmitter emitter, WorkflowNode node)
    {
        Key(emitter, node.Id);
        emitter.Emit(new MappingStart());
        Key(emitter, "node");
        Text(emitter, node.Type);
        if (node.Title is { } title)
        {
            Key(emitter, "title");
            Text(emitter, title);
        }
        if (node.Bypass)
        {
            Key(emitter, "bypass");
            Scalar(emitter, "true");
        }
        if (node.Inputs.Count > 0)
        {
            Key(emitter, "in");
            emitter.Emit(new MappingStart());
            foreach (var edge in node.Inputs)
            {
                Key(emitter, edge.Port);
                Scalar(emitter, edge.Source);
            }
            emitter.Emit(new MappingEnd());
        }
        if (node.Parameters.Count > 0)
        {
            Key(emitter, "with");
            emitter.Emit(new MappingStart());
            foreach (var parameter in node.Parameters)
            {
                Key(emitter, parameter.Name);
                switch (parameter.Value)
                {
                    case InputReference reference:
                        Scalar(emitter, "$" + reference.InputName);
                        break;
                    case LiteralValue { Value: string s } when s.StartsWith('$'):
                        Scalar(emitter, "$" + s);
                        break;
                    case LiteralValue literal:
                        Value(emitter, literal.Value);
                        break;
                }
            }
            emitter.Emit(new MappingEnd());
        }
        emitter.Emit(new MappingEnd());
    }

    private static void WriteEditor(IEmitter emitter, EditorLayout editor)
    {
        Key(emitter, "editor");
        emitter.Emit(new MappingStart());
        if (editor.Viewport is { } v)
        {
            Key(emitter, "viewport");
            Value(emitter, new List<object?> { v.X, v.Y, v.Zoom });
        }
        foreach (var (key, mode) in EditorLayout.SeedControlKeys)
        {
            var seeds = (editor.SeedControls ?? []).Where(s => s.Value == mode).Select(s => (object?)s.Key).ToList();
            if (seeds.Count == 0) continue;
            Key(emitter, key);
            Value(emitter, seeds);
        }
        if (editor.Collapsed is { Count: > 0 } collapsed)
        {
            Key(emitter, "collapsed");
            Value(emitter, collapsed);
        }
        if (editor.Advanced is { Count: > 0 } advanced)
        {
            Key(emitter, "advanced");
            Value(emitter, advanced);
        }
        if (editor.Pinned is { Count: > 0 } pinned)
        {
            Key(emitter, "pinned");
            Value(emitter, pinned);
        }
        if (editor.Colors is { Count: > 0 } colors)
        {
            Key(emitter, "colors");
            emitter.Emit(new MappingStart());
            foreach (var (id, color) in colors)
            {
                Key(emitter, id);
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Flow));
                if (color.Title is { } title) Field(emitter, "title", title);
                if (color.Body is { } body) Field(emitter, "body", body);
                emitter.Emit(new MappingEnd());
            }
            emitter.Emit(new MappingEnd());
        }
        if (editor.Groups is { Count: > 0 } groups)
        {
            Key(emitter, "groups");
            emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Block));
            foreach (var group in groups)
            {
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Flow));
                Field(emitter, "title", group.Title);
                Key(emitter, "box");
                Value(emitter, new List<object?> { group.X, group.Y, group.Width, group.Height });
                if (group.Color is { } color) Field(emitter, "color", color);
                emitter.Emit(new MappingEnd());
            }
            emitter.Emit(new SequenceEnd());
        }
        if (editor.Reroutes is { Count: > 0 } reroutes) Points(emitter, "reroutes", reroutes);
        if (editor.Routes is { Count: > 0 } routes)
        {
            Key(emitter, "routes");
            emitter.Emit(new MappingStart());
            foreach (var (input, ids) in routes)
            {
                Key(emitter, input);
                Value(emitter, ids);
            }
            emitter.Emit(new MappingEnd());
        }
        Points(emitter, "positions", editor.Positions);
        emitter.Emit(new MappingEnd());
    }

    private static void Points(IEmitter emitter, string key, IEnumerable<KeyValuePair<string, NodePosition>> points)
    {
        Key(emitter, key);
        emitter.Emit(new MappingStart());
        foreach (var (id, position) in points)
        {
            Key(emitter, id);
            Value(emitter, new List<object?> { position.X, position.Y });
        }
        emitter.Emit(new MappingEnd());
    }

    // A colour ("#322") is written in double quotes, as people write it, rather than YamlDotNet's single quotes.
    private static void Field(IEmitter emitter, string key, string text)
    {
        Key(emitter, key);
        if (text.StartsWith('#') && !text.Contains('\n')) emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, ScalarStyle.DoubleQuoted, false, true));
        else Text(emitter, text);
    }

    private static void Value(IEmitter emitter, object? value)
    {
        switch (value)
        {
            case null:
                Scalar(emitter, "null");
                break;
            case string s:
                Text(emitter, s);
                break;
            case bool b:
                Scalar(emitter, b ? "true" : "false");
                break;
            case System.Collections.IEnumerable list:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, SequenceStyle.Flow));
                foreach (var item in list) Value(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            default:
                Scalar(emitter, YamlScalars.Format(value));
                break;
        }
    }

    private static void Key(IEmitter emitter, string key) => Scalar(emitter, key);

    private static void Scalar(IEmitter emitter, string text) =>
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, ScalarStyle.Plain, true, false));

    private static void Text(IEmitter emitter, string text)
    {
        var style = text.Contains('\n') ? ScalarStyle.Literal
            : YamlScalars.NeedsQuotes(text) || text.StartsWith('$') ? ScalarStyle.DoubleQuoted
            : ScalarStyle.Any;
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, text, style, style is ScalarStyle.Any, style is not ScalarStyle.Any));
    }
}
