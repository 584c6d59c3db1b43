using System.Reflection;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Catalog;
using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Engine.Schema;
using FlowDiffusion.Server.Runs;
using Microsoft.OpenApi;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// The JSON schemas of the API's bodies, as the OpenAPI document's <c>components/schemas</c> list them: what each route
/// really sends and accepts (a test validates real responses against them; the typed client is generated from them).
/// Objects list every property the server writes and no other (<c>additionalProperties: false</c>); a property the
/// server always writes is required, and nullable when it may be null.
/// </summary>
internal static class ApiSchemas
{
    public const string Health = "Health";
    public const string NodeList = "NodeList";
    public const string ModelList = "ModelList";
    public const string WorkflowList = "WorkflowList";
    public const string WorkflowText = "WorkflowText";
    public const string WorkflowSaved = "WorkflowSaved";
    public const string RunRequest = "RunRequest";
    public const string RunTicket = "RunTicket";
    public const string RunPage = "RunPage";
    public const string Run = "Run";
    public const string CancelAccepted = "CancelAccepted";
    public const string UploadForm = "UploadForm";
    public const string Upload = "Upload";
    public const string Problem = "Problem";

    /// <summary>Every schema by name.</summary>
    public static IReadOnlyDictionary<string, OpenApiSchema> All { get; } = new Dictionary<string, OpenApiSchema>(StringComparer.Ordinal)
    {
        [Health] = Object("The server's health: whether its run store answers.",
            Required("status", Enum("ok, or unhealthy when the run store does not answer.", "ok", "unhealthy")),
            Required("store", Enum("The run store's state.", "ok", "damaged")),
            Optional("error", String("Why the store is damaged (503 only; when an API key is configured, only to a request that carries it).")),
            Optional("warm_up", Ref("WarmUp"))),
        ["WarmUp"] = Object("The warm-up run (FlowDiffusion:Server:WarmUp): a saved workflow run once at start, before the queue's first run; absent when none is configured.",
            Required("workflow", String("The saved workflow's name.")),
            Required("state", Enum("waiting (for the run store), running, done, or failed (the server serves either way).", "waiting", "running", "done", "failed")),
            Optional("seconds", Number("How long it took, once ended.")),
            Optional("error", String("Why it could not run or failed (when an API key is configured, only to a request that carries it)."))),

        [NodeList] = Object("Every node type the loaded plugins provide, in catalog order.",
            Required("nodes", Array("The node types.", Ref("NodeType")))),
        ["NodeType"] = Object("One node type: its ports and parameters.",
            Required("id", String("The node type's id, namespace.name.")),
            Required("version", String("Its semantic version.")),
            Required("title", String("Its display title.")),
            Required("category", String("Its category (slash-separated).")),
            Required("description", String("What it does.")),
            Required("deterministic", Boolean("Whether the same inputs always give the same outputs (its results are cached).")),
            Required("output_node", Boolean("Whether it is an output (a run targets it).")),
            Required("plugin", String("The plugin that provides it.")),
            Required("inputs", Array("Its input ports.", Ref("NodePort"))),
            Required("outputs", Array("Its output ports.", Ref("NodePort"))),
            Required("parameters", Array("Its parameters (the with: block of a workflow node).", Ref("NodeParameter")))),
        ["NodePort"] = Object("An input or output port.",
            Required("name", String("The port's name.")),
            Required("type", String("The port type's name (links connect ports of one type).")),
            Required("color", String("The port type's colour, as CSS.")),
            Optional("optional", Boolean("Whether the input may stay unconnected (inputs only).")),
            Required("description", String("What the port carries."))),
        ["NodeParameter"] = Object("A parameter of a node type.",
            Required("name", String("The parameter's name.")),
            Required("type", Enum("The parameter's value type.", Enum<ParameterValueType>(ValueTypes.Name))),
            Required("default", Any("The default value (of the parameter's type), or null.")),
            Required("description", String("What the parameter does.")),
            Optional("min", Number("The smallest value allowed.")),
            Optional("max", Number("The largest value allowed.")),
            Optional("step", Number("The editor's step.")),
            Optional("choices", Array("The values allowed.", String("A value allowed."))),
            Optional("multiline", Boolean("Whether the editor shows a text box.")),
            Optional("required", Boolean("Whether a workflow must set it.")),
            Optional("kind", String("What the value names beyond its type (seed, model_folder, image_file …).")),
            Optional("advanced", Boolean("Whether the editor tucks it behind the node's Advanced toggle (absent: false)."))),

        [ModelList] = Object("What the server's models folder holds, ordered by path.",
            Required("models", Array("The models.", Ref("Model")))),
        ["Model"] = Object("One model in the models folder.",
            Required("path", String("The file or folder as a workflow writes it (relative to the server's working folder, with '/').")),
            Required("kind", Enum("What kind of model it is.", Constants(typeof(ModelKinds)))),
            Required("architecture", String("What its keys and shapes show, or why it was not read.")),
            Required("precision", String("The weights' element types (e.g. F16), or empty when not read.")),
            Required("bytes", Integer("Its size on disk.", "int64"))),

        [WorkflowList] = Object("The saved workflows' names.",
            Required("workflows", Array("The names, in ordinal order.", String("A saved workflow's name.")))),
        [WorkflowText] = String("Workflow YAML (UTF-8)."),
        [WorkflowSaved] = Object("A saved workflow and its problems.",
            Required("name", String("The workflow's name.")),
            Required("valid", Boolean("Whether it validates (false only for a draft).")),
            Required("diagnostics", Array("Its errors and warnings.", Ref("Diagnostic")))),
        ["Diagnostic"] = Object("An error or warning about a workflow, with where it is.",
            Required("severity", Enum("How bad it is.", "error", "warning")),
            Required("node", Nullable(String("The node's id, when it is about a node."))),
            Required("line", Nullable(Integer("The YAML line, when known."))),
            Required("column", Nullable(Integer("The YAML column, when known."))),
            Required("message", String("What is wrong, in the API's words (an input is inputs.NAME).")),
            Required("input", Nullable(String("The workflow input's name, when it is about an input value.")))),

        [RunRequest] = Object("A run to queue: a saved workflow by name, or workflow YAML (exactly one of the two), with input values.",
            Optional("workflow", Nullable(String("A saved workflow's name."))),
            Optional("yaml", Nullable(String("Workflow text, instead of a name."))),
            Optional("inputs", Nullable(Map("Input values by input name."))),
            Optional("priority", Nullable(Integer("Higher runs first (default 0).")))),
        [RunTicket] = Object("A queued run.",
            Required("id", String("The run's id.")),
            Required("status", RunStatus())),
        [RunPage] = Object("One page of run history, newest first.",
            Required("runs", Array("The runs on this page.", Ref(Run))),
            Required("total", Integer("How many runs match, on all pages.")),
            Required("offset", Integer("The offset of this page.")),
            Required("limit", Integer("The page size asked for (after the server's limits).")),
            Required("next_offset", Nullable(Integer("The offset of the next page; null on the last.")))),
        [Run] = Object("A run: its state, inputs, node timings and outputs.",
            Required("id", String("The run's id.")),
            Required("status", RunStatus()),
            Required("priority", Integer("Higher runs first.")),
            Required("workflow", Nullable(String("The saved workflow's name, when it was submitted by name."))),
            Required("submitted", String("When it was submitted.", "date-time")),
            Required("started", Nullable(String("When it started.", "date-time"))),
            Required("finished", Nullable(String("When it finished.", "date-time"))),
            Required("attempts", Integer("How many times a worker claimed it.")),
            Required("inputs", Nullable(Map("The input values it runs with; null in a list page when they are long (see inputs_length)."))),
            Required("nodes", Array("Each node's timing, in the order they finished.", Ref("NodeTiming"))),
            Required("outputs", Array("The files it wrote.", Ref("RunOutput"))),
            Required("error", Nullable(String("Why it failed, when it did."))),
            Required("inputs_length", Integer("The length of the inputs' JSON text."))),
        ["NodeTiming"] = Object("How long a node took.",
            Required("node", String("The node's id.")),
            Required("type", String("The node's type.")),
            Required("duration_ms", Number("Milliseconds it ran (0 when cached).")),
            Required("cached", Boolean("Whether its outputs came from the cache."))),
        ["RunOutput"] = Object("A file a run wrote.",
            Required("file", String("Its name inside the run's folder.")),
            Required("url", String("Where the API serves it (relative to the server's address)."))),
        [CancelAccepted] = Object("A cancellation asked for.",
            Required("id", String("The run's id."))),

        [UploadForm] = Object("A multipart form with the image or mask.",
            Required("file", String("The image file (PNG, JPEG, WebP …).", "binary"))),
        [Upload] = Object("An uploaded file.",
            Required("file", String("Its name: give it to an image or mask input."))),

        [Problem] = Object("An error (RFC 9457 problem details).",
            Optional("type", String("A URI for the kind of error.")),
            Required("title", String("A short summary.")),
            Required("status", Integer("The HTTP status.")),
            Optional("detail", String("What went wrong and what to do; absent only where ASP.NET refused the request before the API read it (a 415 for an upload that is not a form).")),
            Optional("instance", String("The request.")),
            Optional("traceId", String("The request's trace id, for the server's log.")),
            Optional("errors", Array("Each error of an invalid workflow (400 Invalid workflow).", Ref("Diagnostic")))),
    };

    /// <summary>A reference to the schema <paramref name="name"/> of <see cref="All"/>.</summary>
    public static IOpenApiSchema Ref(string name) => new OpenApiSchemaReference(name);

    internal static OpenApiSchema RunStatus() =>
        Enum("queued, running, completed, failed, cancelled or interrupted.", [.. System.Enum.GetValues<RunState>().Select(s => s.Name())]);

    internal sealed record Property(string Name, IOpenApiSchema Schema, bool IsRequired);

    internal static Property Required(string name, IOpenApiSchema schema) => new(name, schema, true);

    internal static Property Optional(string name, IOpenApiSchema schema) => new(name, schema, false);

    internal static OpenApiSchema Object(string description, params Property[] properties) => new()
    {
        Type = JsonSchemaType.Object,
        Description = description,
        Properties = properties.ToDictionary(p => p.Name, p => p.Schema, StringComparer.Ordinal),
        Required = new HashSet<string>(properties.Where(p => p.IsRequired).Select(p => p.Name), StringComparer.Ordinal),
        AdditionalPropertiesAllowed = false,
    };

    // An object of any values by name.
    internal static OpenApiSchema Map(string description) => new() { Type = JsonSchemaType.Object, Description = description };

    // An object whose every property value is <paramref name="values"/>.
    internal static OpenApiSchema MapOf(string description, IOpenApiSchema values) => new() { Type = JsonSchemaType.Object, Description = description, AdditionalProperties = values };

    internal static OpenApiSchema Array(string description, IOpenApiSchema items) => new() { Type = JsonSchemaType.Array, Description = description, Items = items };

    internal static OpenApiSchema String(string description, string? format = null) => new() { Type = JsonSchemaType.String, Description = description, Format = format };

    internal static OpenApiSchema Integer(string description, string format = "int32") => new() { Type = JsonSchemaType.Integer, Description = description, Format = format };

    internal static OpenApiSchema Number(string description) => new() { Type = JsonSchemaType.Number, Description = description, Format = "double" };

    internal static OpenApiSchema Boolean(string description) => new() { Type = JsonSchemaType.Boolean, Description = description };

    internal static OpenApiSchema Any(string description) => new() { Description = description };

    internal static OpenApiSchema Enum(string description, params string[] values) => new()
    {
        Type = JsonSchemaType.String,
        Description = description,
        Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))],
    };

    internal static OpenApiSchema Nullable(OpenApiSchema schema)
    {
        schema.Type |= JsonSchemaType.Null;
        return schema;
    }

    internal static string[] Enum<T>(Func<T, string> name) where T : struct, System.Enum => [.. System.Enum.GetValues<T>().Select(name)];

    // The string constants a class declares (the one list of a fixed set of names).
    internal static string[] Constants(Type type) =>
        [.. type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!)];
}
