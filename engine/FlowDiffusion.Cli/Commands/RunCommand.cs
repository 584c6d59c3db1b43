using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
            // Models are picked and sizes filled in before validation, so the stored run names the model that ran.
            var workingFolder = host.Home()?.Folder ?? Environment.CurrentDirectory;
            if (WorkflowYamlReader.ReadFile(path).Workflow is { } workflow)
                foreach (var line in ModelChoice.Describe(workflow, values, engine.Options, workingFolder))
                    Console.Error.WriteLine(line);
            var validation = engine.Load(path, values, anyInputPath: true);
            DiagnosticsPrinter.Print(validation.Diagnostics, Console.Error);
            if (validation.Plan is null)
            {
                if (asJson) Console.WriteLine(new JsonObject { ["status"] = "invalid", ["outputs"] = new JsonArray(), ["errors"] = new JsonArray(validation.Errors.Select(e => (JsonNode)e.ToString()).ToArray()) }.ToJsonString());
                return ExitCodes.Failed;
            }

            var outputFolder = Path.GetFullPath(parse.GetValue(output) ?? engine.Options.OutputFolder);
            // Workflows name models and assets relative to the installation (models/shapes-sd), wherever the CLI starts.
            await using var runs = EmbeddedRunHost.Create(engine, outputFolder, workingFolder, host.Services.GetRequiredService<ILogger<RunDispatcher>>());
            var submission = new RunSubmission(await File.ReadAllTextAsync(path, CancellationToken.None), JsonSerializer.Serialize(values),
                Path.GetFileNameWithoutExtension(path), Targets: parse.GetValue(targets) ?? []);
            var quiet = asJson || asEvents;
            var display = new ProgressDisplay(quiet ? Console.Error : Console.Out, live: !quiet && !Console.IsOutputRedirected);
            var result = await FollowAsync(runs, submission, message =>
            {
                display.Show(message);
                if (asEvents) Console.Out.WriteLine(message.Json);
            }, cancellationToken);
            display.Finish();

            if (asJson)
                Console.WriteLine(Json(result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            else if (!asEvents)
                Summarise(result);
            return result.Status == RunStatus.Completed ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    // Through the run backend, as the API and the editor run: submit, subscribe, then let the worker claim it, so the
    // stream (run_state, then the whole attempt) is the one an API client that subscribed at once receives. Ctrl+C
    // cancels the run through the backend; the summary comes from the stored final record (run_ended).
    private static async Task<RunResult> FollowAsync(EmbeddedRunHost runs, RunSubmission submission, Action<RunMessage> show, CancellationToken cancellationToken)
    {
        var backend = runs.Backend;
        var (record, _) = await backend.SubmitAsync(submission, CancellationToken.None);
        await using var events = backend.SubscribeAsync(record.Id, CancellationToken.None).GetAsyncEnumerator(CancellationToken.None);
        if (!await events.MoveNextAsync()) throw new InvalidOperationException($"run {record.Id} vanished from its store before it started");
        show(events.Current);
        await runs.StartAsync(CancellationToken.None);
        await using var cancel = cancellationToken.Register(() => _ = backend.CancelAsync(record.Id, CancellationToken.None));
        RunRecord? final = null;
        string? failedNode = null;
        while (await events.MoveNextAsync())
        {
            var message = events.Current;
            show(message);
            if (message.Event is NodeFailed failed) failedNode ??= failed.NodeId;
            if (message.Record is { } ended) final = ended;
        }
        final ??= await backend.GetAsync(record.Id, CancellationToken.None) ?? throw new InvalidOperationException($"run {record.Id} vanished from its store");
        return new RunResult(final.Id, final.Status switch
            {
                RunState.Completed => RunStatus.Completed,
                RunState.Cancelled => RunStatus.Cancelled,
                _ => RunStatus.Failed,
            },
            (final.Finished ?? DateTimeOffset.UtcNow) - (final.Started ?? final.Submitted),
            NodeTimingJson.Parse(final.NodesJson),
            OutputNames(final.OutputsJson).Select(runs.Outputs.PathOf).ToList(),
            new Dictionary<string, IReadOnlyDictionary<string, object?>>(),
            final.Error,
            failedNode);
    }

    private static IEnumerable<string> OutputNames(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];

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
