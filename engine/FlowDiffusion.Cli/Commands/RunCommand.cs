using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion run FILE</c>: validate, execute with live progress, summarise.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The workflow YAML file." };
        var set = new Option<string[]>("--set", "-s") { Description = "Set a workflow input, e.g. --set seed=42. Repeatable.", HelpName = "NAME=VALUE" };
        var output = new Option<string?>("--out", "-o") { Description = "Write output files to DIR (default: the configured output folder, 'outputs').", HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (status, outputs, nodes); progress goes to stderr." };
        var targets = new Option<string[]>("--target", "-t") { Description = "Run only what NODE needs (partial execution). Repeatable.", HelpName = "NODE" };
        var command = new Command("run", "Run a workflow: live progress per node and per step, then a summary.") { file, set, output, json, targets };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var values = SetValues.Parse(parse.GetValue(set) ?? []);
            using var host = CliHost.Build(parse);
            var engine = host.Engine();
            var asJson = parse.GetValue(json);
            var path = parse.GetValue(file)!;
            var validation = engine.Load(path, values);
            DiagnosticsPrinter.Print(validation.Diagnostics, Console.Error);
            if (validation.Plan is null)
            {
                if (asJson) Console.WriteLine(new JsonObject { ["status"] = "invalid", ["outputs"] = new JsonArray(), ["errors"] = new JsonArray(validation.Errors.Select(e => (JsonNode)e.ToString()).ToArray()) }.ToJsonString());
                return ExitCodes.Failed;
            }

            var options = new RunOptions
            {
                OutputDirectory = Path.GetFullPath(parse.GetValue(output) ?? engine.Options.OutputFolder),
                Targets = parse.GetValue(targets) ?? [],
                WorkingDirectory = Environment.CurrentDirectory,
                // The CLI's user runs their own workflows on their own files: any path they name may be read.
                AnyInputPath = true,
            };
            var run = engine.Start(validation.Plan, options, cancellationToken: cancellationToken);
            var display = new ProgressDisplay(asJson ? Console.Error : Console.Out, live: !asJson && !Console.IsOutputRedirected);
            await foreach (var item in run.ReadEventsAsync(CancellationToken.None))
                display.Show(item);
            display.Finish();
            var result = await run.Completion;

            if (asJson)
                Console.WriteLine(Json(result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            else
                Summarise(result);
            return result.Status == RunStatus.Completed ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    private static void Summarise(RunResult result)
    {
        var writer = result.Status == RunStatus.Completed ? Console.Out : Console.Error;
        writer.WriteLine();
        writer.WriteLine(result.Status switch
        {
            RunStatus.Completed => $"Completed in {ProgressDisplay.Seconds(result.Duration)}: {result.Executed} nodes run, {result.Cached} cached.",
            RunStatus.Cancelled => $"Cancelled after {ProgressDisplay.Seconds(result.Duration)}.",
            _ => $"Failed after {ProgressDisplay.Seconds(result.Duration)}: {result.Error}",
        });
        var width = result.Nodes.Select(n => n.NodeId.Length + n.NodeType.Length + 3).DefaultIfEmpty(10).Max();
        foreach (var node in result.Nodes)
            writer.WriteLine($"  {($"{node.NodeId} ({node.NodeType})").PadRight(width)}  {(node.Cached ? "cached" : ProgressDisplay.Seconds(node.Duration))}");
        foreach (var file in result.OutputFiles)
            writer.WriteLine($"Output: {file}");
    }

    private static JsonObject Json(RunResult result) => new()
    {
        ["status"] = result.Status.ToString().ToLowerInvariant(),
        ["run_id"] = result.RunId,
        ["duration_ms"] = result.Duration.TotalMilliseconds,
        ["outputs"] = new JsonArray(result.OutputFiles.Select(f => (JsonNode)f).ToArray()),
        ["nodes"] = new JsonArray(result.Nodes.Select(n => (JsonNode)new JsonObject
        {
            ["id"] = n.NodeId,
            ["type"] = n.NodeType,
            ["cached"] = n.Cached,
            ["duration_ms"] = n.Duration.TotalMilliseconds,
        }).ToArray()),
        ["error"] = result.Error,
        ["failed_node"] = result.FailedNode,
    };
}
