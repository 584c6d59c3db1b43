using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Models;
using FlowDiffusion.Server.Runs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Server.Api;

/// <summary>The HTTP API: nodes, models, saved workflows, runs with their event streams, output files, uploads, health, OpenAPI.</summary>
public static class FlowDiffusionApi
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Maps every endpoint under <c>/api</c> and the OpenAPI document at <c>/openapi/v1.json</c>.</summary>
    public static IEndpointRouteBuilder MapFlowDiffusionApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapOpenApi();
        var api = endpoints.MapGroup("/api");
        // Each route declares every status it answers with (the OpenAPI document is built from these, plus the answers of
        // the API key, Host and origin checks that ApiRefusals lists; a test diffs them against the mapped routes and
        // against what the routes really answer). A JSON body over MaxRequestBytes is 413, one not sent as JSON 415.
        // Routes that read or write the run store answer 503 when its database is damaged (RunStoreErrorHandler).
        // The body schemas (Returns, Takes) are ApiSchemas'; the names (WithName) are the operation ids a generated client uses.
        api.MapGet("/health", HealthAsync).WithName("getHealth").WithSummary("Whether the server and its run store answer.").Returns(StatusCodes.Status200OK, ApiSchemas.Health).Returns(StatusCodes.Status503ServiceUnavailable, ApiSchemas.Health);
        api.MapGet("/nodes", (FlowDiffusionEngine engine) => TypedResults.Ok(NodeSchemaJson.Write(engine.Catalog))).WithName("listNodes").WithSummary("Every node type: ports, parameters, categories.").Returns(StatusCodes.Status200OK, ApiSchemas.NodeList);
        api.MapGet("/models", ModelListApi.List).WithName("listModels").WithSummary("What the models folder holds: kind, architecture, precision, size.").Returns(StatusCodes.Status200OK, ApiSchemas.ModelList);

        api.MapGet("/workflows", ListWorkflows).WithName("listWorkflows").WithSummary("The saved workflows' names.").Returns(StatusCodes.Status200OK, ApiSchemas.WorkflowList);
        api.MapGet("/workflows/{name}", WorkflowFileApi.Get).WithName("getWorkflow").WithSummary("A saved workflow's YAML.").Produces(StatusCodes.Status200OK, contentType: "application/yaml")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPut("/workflows/{name}", WorkflowFileApi.PutAsync).WithName("saveWorkflow").WithSummary("Saves a workflow that validates (with ?draft=true, one that does not).").Accepts<string>("application/yaml", "text/yaml", "text/plain").Takes(ApiSchemas.WorkflowText)
            .Returns(StatusCodes.Status200OK, ApiSchemas.WorkflowSaved).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        api.MapPost("/runs", SubmitAsync).WithName("submitRun").WithSummary("Queues a run of a saved workflow or of YAML, with input values (Idempotency-Key: a retry queues nothing new).").Takes(ApiSchemas.RunRequest).Returns(StatusCodes.Status202Accepted, ApiSchemas.RunTicket)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/runs", ListRunsAsync).WithName("listRuns").WithSummary("One page of run history, newest first, optionally of one status.").Returns(StatusCodes.Status200OK, ApiSchemas.RunPage).ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/runs/{id}", GetRunAsync).WithName("getRun").WithSummary("A run: status, inputs, node timings, outputs, error.").Returns(StatusCodes.Status200OK, ApiSchemas.Run).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/runs/{id}/events", StreamEventsAsync).WithName("streamRunEvents").WithSummary("The run's events as server-sent events until it ends (docs/events.md).").Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/runs/{id}/cancel", CancelAsync).WithName("cancelRun").WithSummary("Asks a queued or running run to stop.").Returns(StatusCodes.Status202Accepted, ApiSchemas.CancelAccepted)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapDelete("/runs/{id}", DeleteAsync).WithName("deleteRun").WithSummary("Deletes a finished run and its files.").Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/outputs/{runId}/{**file}", GetOutputAsync).WithName("getOutput").WithSummary("A file a run wrote.").Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/uploads", UploadApi.UploadAsync).WithName("upload").WithSummary("Uploads an image or mask for a workflow input.").Accepts<IFormFile>("multipart/form-data").Takes(ApiSchemas.UploadForm).DisableAntiforgery()
            .Returns(StatusCodes.Status200OK, ApiSchemas.Upload).ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        api.MapDelete("/uploads/{name}", UploadApi.Delete).WithName("deleteUpload").WithSummary("Deletes an upload.").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static IResult ListWorkflows(FlowDiffusionEngine engine)
    {
        var folder = Path.GetFullPath(engine.Options.WorkflowsFolder);
        var names = Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "*.yaml").Select(Path.GetFileNameWithoutExtension).Where(WorkflowNames.IsValid).Order(StringComparer.Ordinal)
            : Enumerable.Empty<string?>();
        return TypedResults.Ok(new JsonObject { ["workflows"] = new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n!)).ToArray()) });
    }

    private static async Task<IResult> HealthAsync(IRunBackend runs, ApiKeyCheck keys, HttpContext context, CancellationToken cancellationToken)
    {
        // Health answers without the API key; the reasons (a database's or a workflow folder's path, a model file) need it.
        var detailed = keys.Admits(context.Request);
        var warmUp = context.RequestServices.GetService<WarmUp>()?.Snapshot;
        if (!detailed) warmUp?.Remove("error");
        try
        {
            await runs.CheckAsync(cancellationToken);
        }
        catch (RunStoreDamagedException e)
        {
            var damaged = new JsonObject { ["status"] = "unhealthy", ["store"] = "damaged" };
            if (detailed) damaged["error"] = e.Message;
            return TypedResults.Json(WithWarmUp(damaged, warmUp), statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        return TypedResults.Ok(WithWarmUp(new JsonObject { ["status"] = "ok", ["store"] = "ok" }, warmUp));
    }

    private static JsonObject WithWarmUp(JsonObject health, JsonObject? warmUp)
    {
        if (warmUp is not null) health["warm_up"] = warmUp;
        return health;
    }

    private static async Task<IResult> SubmitAsync(RunRequest? body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, FlowDiffusionEngine engine,
        IRunBackend runs, CancellationToken cancellationToken)
    {
        if (body is null || (body.Workflow is null) == (body.Yaml is null))
            return Problem(StatusCodes.Status400BadRequest, "Bad run request", "Send either \"workflow\" (a saved workflow's name) or \"yaml\" (workflow text), not both.");
        if (body.Inputs is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
            return Problem(StatusCodes.Status400BadRequest, "Bad run request", "\"inputs\" must be an object of input values by name.");
        var yaml = body.Yaml;
        var file = "workflow.yaml";
        if (body.Workflow is { } name)
        {
            if (!WorkflowNames.IsValid(name)) return BadName(name);
            var path = WorkflowNames.FileOf(engine.Options.WorkflowsFolder, name);
            if (!File.Exists(path)) return NotFound($"No saved workflow '{name}'.");
            yaml = await File.ReadAllTextAsync(path, cancellationToken);
            file = name + ".yaml";
        }
        var inputsJson = body.Inputs is { ValueKind: JsonValueKind.Object } inputs ? inputs.GetRawText() : "{}";
        // A model input the body leaves out runs the user's own model when there is one; the stored inputs say which.
        var values = InputValues.FromJson(inputsJson);
        if (WorkflowModelDefaults.ApplyToRun(yaml!, file, values, engine.Options).Count > 0) inputsJson = JsonSerializer.Serialize(values);
        // Defaults add strings and whole numbers, the types the JSON reader gives, so the values need no second read.
        var validation = engine.Parse(yaml!, file, values);
        if (!validation.IsValid) return Invalid(validation.Diagnostics, "The workflow has errors; nothing was queued.");

        var key = idempotencyKey ?? "";
        if (key.Length > 200) return Problem(StatusCodes.Status400BadRequest, "Bad run request", "The Idempotency-Key header is longer than 200 characters.");
        var (run, _) = await runs.SubmitAsync(
            new RunSubmission(yaml!, inputsJson, body.Workflow, body.Priority ?? 0, key.Length > 0 ? key : null), cancellationToken);
        return TypedResults.Json(new JsonObject { ["id"] = run.Id, ["status"] = run.Status.Name() }, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ListRunsAsync(IRunBackend runs, IOptions<ServerOptions> options, string? status, int? offset, int? limit,
        CancellationToken cancellationToken)
    {
        RunState? state = null;
        if (status is not null && (state = RunStates.Parse(status)) is null)
            return Problem(StatusCodes.Status400BadRequest, "Unknown status", $"'{status}' is not one of: {string.Join(", ", Enum.GetValues<RunState>().Select(s => s.Name()))}.");
        var take = Math.Clamp(limit ?? 50, 1, options.Value.MaxPageSize);
        var skip = Math.Max(offset ?? 0, 0);
        var page = await runs.ListAsync(state, skip, take, cancellationToken);
        // Paged by size as well as count: the page ends before the run that would take it past MaxPageBytes (one run always fits).
        var listed = new JsonArray();
        var bytes = 0L;
        foreach (var run in page.Runs)
        {
            var json = RunJson.Write(run);
            bytes += Encoding.UTF8.GetByteCount(json.ToJsonString());
            if (listed.Count > 0 && bytes > options.Value.MaxPageBytes) break;
            listed.Add(json);
        }
        var next = skip + listed.Count;
        return TypedResults.Ok(new JsonObject
        {
            ["runs"] = listed,
            ["total"] = page.Total,
            ["offset"] = skip,
            ["limit"] = take,
            ["next_offset"] = next < page.Total ? next : null,
        });
    }

    private static async Task<IResult> GetRunAsync(string id, IRunBackend runs, CancellationToken cancellationToken) =>
        await runs.GetAsync(id, cancellationToken) is { } run ? TypedResults.Ok(RunJson.Write(run)) : RunNotFound(id);

    private static async Task<IResult> CancelAsync(string id, IRunBackend runs, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(id, cancellationToken);
        if (run is null) return RunNotFound(id);
        if (await runs.CancelAsync(id, cancellationToken) == CancelOutcome.NotActive)
            return Problem(StatusCodes.Status409Conflict, "Run already finished", $"Run {id} is {run.Status.Name()}; only queued or running runs can be cancelled.");
        return TypedResults.Accepted($"/api/runs/{id}", new JsonObject { ["id"] = id });
    }

    private static async Task<IResult> DeleteAsync(string id, IRunBackend runs, CancellationToken cancellationToken)
    {
        var run = await runs.GetAsync(id, cancellationToken);
        if (run is null) return RunNotFound(id);
        if (!await runs.DeleteAsync(id, cancellationToken))
            return Problem(StatusCodes.Status409Conflict, "Run still active", $"Run {id} is {run.Status.Name()}; cancel it first, then delete it.");
        return TypedResults.NoContent();
    }

    private static async Task<IResult> GetOutputAsync(string runId, string? file, IRunBackend runs, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(runId, cancellationToken) is null) return RunNotFound(runId);
        var path = runs.Outputs.Find(runId, file);
        if (path is null) return NotFound($"Run {runId} has no output '{file}'.");
        if (!ContentTypes.TryGetContentType(path, out var contentType)) contentType = "application/octet-stream";
        return TypedResults.PhysicalFile(path, contentType);
    }

    // Pushed from the run event bus: no polling, one JSON text per event however many clients listen, and capped
    // per client and in total (429 beyond).
    private static async Task StreamEventsAsync(string id, HttpContext context, IRunBackend runs, EventStreamLimiter limiter, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(id, cancellationToken) is null)
        {
            await RunNotFound(id).ExecuteAsync(context);
            return;
        }
        using var slot = limiter.TryEnter(context.Connection.RemoteIpAddress, out var refusal);
        if (slot is null)
        {
            await Problem(StatusCodes.Status429TooManyRequests, "Too many event streams", refusal!).ExecuteAsync(context);
            return;
        }
        var response = context.Response;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.Body.FlushAsync(cancellationToken);
        try
        {
            await foreach (var message in runs.SubscribeAsync(id, cancellationToken))
                await WriteEventAsync(response, message.Kind, message.Json, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, string kind, string data, CancellationToken cancellationToken)
    {
        await response.WriteAsync($"event: {kind}\ndata: {data}\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    internal static JsonArray DiagnosticsJson(IEnumerable<Diagnostic> diagnostics) => new(diagnostics.Select(d => (JsonNode)new JsonObject
    {
        ["severity"] = d.IsError ? "error" : "warning",
        ["node"] = d.NodeId,
        ["line"] = d.Location?.Line,
        ["column"] = d.Location?.Column,
        ["message"] = Message(d),
        ["input"] = d.Input,
    }).ToArray());

    // An input's value is the body's inputs.NAME here, never the CLI's --set.
    internal static string Message(Diagnostic d) => d.Input is null ? d.Message : $"inputs.{d.Input}: {d.Message}";

    // A diagnostic as one line of a run's error: where, node, message, in the API's words.
    internal static string Text(Diagnostic d) =>
        (d.Location is { } l ? $"line {l.Line}: " : "") + (d.NodeId is null ? "" : $"node '{d.NodeId}': ") + Message(d);

    internal static IResult Invalid(IEnumerable<Diagnostic> diagnostics, string detail) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest, title: "Invalid workflow", detail: detail,
        extensions: new Dictionary<string, object?> { ["errors"] = DiagnosticsJson(diagnostics.Where(d => d.IsError)) });

    internal static IResult BadName(string name) => Problem(StatusCodes.Status400BadRequest, "Bad workflow name",
        $"'{name}' is not a workflow name: use letters, digits, '_', '-' and '.', at most 100 characters, no path.");

    private static IResult RunNotFound(string id) => NotFound($"No run '{id}'.");

    internal static IResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    internal static IResult Problem(int status, string title, string detail) => TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
