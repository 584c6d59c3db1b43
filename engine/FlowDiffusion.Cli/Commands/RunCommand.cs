using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion run FILE</c>: validate, execute with live progress, summarise.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The workflow YAML file, or the name of a saved workflow (txt2img)." };
        var set = new Option<string[]>("--set", "-s") { Description = "Set a workflow input, e.g. --set seed=42. Repeatable.", HelpName = "NAME=VALUE" };
        var output = new Option<string?>("--out", "-o") { Description = "Write output files to DIR (default: the configured output folder, 'outputs').", HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (status, outputs, nodes); progress goes to stderr." };
        var targets = new Option<string[]>("--target", "-t") { Description = "Run only what NODE needs (partial execution). Repeatable.", HelpName = "NODE" };
        var events = new Option<bool>("--events")
        {
            Description = "Print the run's events as JSON lines on stdout, the schema the API's event stream sends (docs/events.md); progress goes to stderr.",
        };
        var command = new Command("run", "Run a workflow: live progress per node and per step, then a summary.") { file, set, output, json, targets, events };
        CommandAction.Set(command, async (parse, cancellationToken) =>
        {
            var values = SetValues.Parse(parse.GetValue(set) ?? []);
            using var host = CliHost.Build(parse);
            var engine = host.Engine();
            var asJson = parse.GetValue(json);
            var asEvents = parse.GetValue(events);
            var path = host.WorkflowFile(parse.GetValue(file)!);
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
                // Workflows name models and assets relative to the installation (models/shapes-sd), wherever the CLI starts.
                WorkingDirectory = host.Home()?.Folder ?? Environment.CurrentDirectory,
                // The CLI's user runs their own workflows on their own files: any path they name may be read.
                AnyInputPath = true,
            };
            var run = engine.Start(validation.Plan, options, cancellationToken: cancellationToken);
            var quiet = asJson || asEvents;
            var display = new ProgressDisplay(quiet ? Console.Error : Console.Out, live: !quiet && !Console.IsOutputRedirected);
            var result = await FollowAsync(run, options.OutputDirectory, Path.GetFileNameWithoutExtension(path), message =>
            {
                display.Show(message);
                if (asEvents) Console.Out.WriteLine(message.Json);
            });
            display.Finish();

            if (asJson)
                Console.WriteLine(Json(result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            else if (!asEvents)
                Summarise(result);
            return result.Status == RunStatus.Completed ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    // The same event bus and messages as the server's: the engine's events go in once, the display (and --events) read them.
    private static async Task<RunResult> FollowAsync(WorkflowRun run, string outputFolder, string workflow, Action<RunMessage> show)
    {
        var bus = new RunEventBus(subscriberCapacity: 1 << 16);
        var started = DateTimeOffset.UtcNow;
        bus.Begin(run.Id, 1);
        using var subscription = bus.Subscribe(new RunRecord(run.Id, RunState.Running, 0, started, started, null, workflow, "", "{}", null, null, null, null, 1));
        var reading = Task.Run(async () =>
        {
            await foreach (var message in subscription.Reader.ReadAllAsync()) show(message);
        });
        await foreach (var item in run.ReadEventsAsync(CancellationToken.None))
        {
            if (item is not (RunFinished or RunFailed or RunCancelled)) bus.Publish(run.Id, item);
        }
        var result = await run.Completion;
        var outputs = result.OutputFiles.Select(f => Path.GetRelativePath(outputFolder, Path.GetFullPath(f, outputFolder)).Replace('\\', '/'));
        bus.End(new RunRecord(run.Id, result.Status switch
            {
                RunStatus.Completed => RunState.Completed,
                RunStatus.Cancelled => RunState.Cancelled,
                _ => RunState.Failed,
            }, 0, started, started, started + result.Duration, workflow, "", "{}", NodeTimingJson.Write(result.Nodes).ToJsonString(),
            new JsonArray(outputs.Select(o => (JsonNode)JsonValue.Create(o)).ToArray()).ToJsonString(), result.Error, null, 1));
        await reading;
        return result;
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
        // The same timing keys as the API's run record and events.
        ["nodes"] = NodeTimingJson.Write(result.Nodes),
        ["error"] = result.Error,
        ["failed_node"] = result.FailedNode,
    };
}
