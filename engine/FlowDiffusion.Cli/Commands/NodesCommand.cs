using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion nodes</c>: every node type with ports, parameters, version, category and plugin.</summary>
internal static class NodesCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the node schema as JSON (what GET /api/nodes serves)." };
        var command = new Command("nodes", "List the node types the loaded plugins provide.") { json };
        CommandAction.Set(command, (parse, _) =>
        {
            using var host = CliHost.Build(parse);
            var catalog = host.Engine().Catalog;
            if (parse.GetValue(json))
            {
                Console.WriteLine(NodeSchemaJson.Write(catalog).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                return Task.FromResult(ExitCodes.Ok);
            }
            foreach (var group in catalog.All.GroupBy(n => n.Category))
            {
                Console.WriteLine($"{group.Key}:");
                foreach (var node in group) Print(node);
            }
            Console.WriteLine($"{catalog.Count} node types.");
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static void Print(NodeDescriptor node)
    {
        Console.WriteLine($"  {node.Id} {node.Version}  ({node.Plugin}){(node.Deterministic ? "" : "  non-deterministic")}");
        if (node.Description.Length > 0) Console.WriteLine($"    {node.Description}");
        foreach (var input in node.Inputs)
            Console.WriteLine($"    in   {input.Name}: {input.Type.Name}{(input.Optional ? " (optional)" : "")}");
        foreach (var parameter in node.Parameters)
            Console.WriteLine($"    with {parameter.Name}: {ValueTypes.Name(parameter.ValueType)}{Details(parameter)}");
        foreach (var output in node.Outputs)
            Console.WriteLine($"    out  {output.Name}: {output.Type.Name}");
    }

    private static string Details(ParameterDescriptor p)
    {
        var parts = new List<string>();
        if (p.Default is not null) parts.Add("default " + Format(p.Default));
        if (p.HasMin || p.HasMax) parts.Add($"{(p.HasMin ? Format(p.Min) : "")}..{(p.HasMax ? Format(p.Max) : "")}");
        if (p.Choices.Count > 0) parts.Add("one of " + string.Join("|", p.Choices));
        if (p.Required) parts.Add("required");
        return parts.Count == 0 ? "" : " = " + string.Join(", ", parts);
    }

    private static string Format(object value) => value switch
    {
        string s => s.Contains('\n') ? "\"…\"" : $"\"{s}\"",
        System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object>().Select(Format)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
