using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Backend;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Imaging;
using FlowDiffusion.Server;
using FlowDiffusion.Server.Uploads;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Comfy.Api;

/// <summary>ComfyUI's HTTP routes and socket, each at the root and under <c>/api</c>, with its request and response shapes.</summary>
public static class ComfyRoutes
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Maps the routes onto <paramref name="app"/> and enables WebSockets for <c>/ws</c>.</summary>
    public static WebApplication MapComfyApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebSockets();
        foreach (var prefix in new[] { "", "/api" })
        {
            var group = app.MapGroup(prefix);
            group.MapPost("/prompt", PostPromptAsync).DisableAntiforgery();
            group.MapGet("/prompt", async (ComfyPrompts prompts, CancellationToken ct) => Results.Json(new JsonObject
            {
                ["exec_info"] = new JsonObject { ["queue_remaining"] = await prompts.QueueRemainingAsync(ct) },
            }));
            group.MapGet("/queue", GetQueueAsync);
            group.MapPost("/queue", PostQueueAsync).DisableAntiforgery();
            group.MapPost("/interrupt", InterruptAsync).DisableAntiforgery();
            group.MapGet("/history", GetHistory);
            group.MapGet("/history/{id}", async (string id, ComfyPrompts prompts, CancellationToken cancellationToken) =>
                Results.Json(await prompts.HistoryOfAsync(id, cancellationToken)));
            group.MapPost("/history", PostHistoryAsync).DisableAntiforgery();
            group.MapGet("/view", View);
            group.MapPost("/upload/image", (HttpRequest r, ComfyFolders f, IOptions<ServerOptions> o, IOptions<FlowDiffusionOptions> e, CancellationToken ct) => UploadAsync(r, f, o, e, null, ct)).DisableAntiforgery();
            group.MapPost("/upload/mask", (HttpRequest r, ComfyFolders f, IOptions<ServerOptions> o, IOptions<FlowDiffusionOptions> e, IComfyBackend b, CancellationToken ct) => UploadAsync(r, f, o, e, b, ct)).DisableAntiforgery();
            group.MapGet("/object_info", (ComfyFolders folders, FlowDiffusionEngine engine) => Results.Json(ObjectInfo.All(folders, engine.Catalog)));
            group.MapGet("/object_info/{name}", (string name, ComfyFolders folders, FlowDiffusionEngine engine) =>
                Results.Json(ObjectInfo.Describe(name, folders, engine.Catalog) is { } info ? new JsonObject { [name] = info } : new JsonObject()));
            group.MapGet("/system_stats", SystemStats);
            group.MapGet("/embeddings", (ComfyFolders folders) => Results.Json(new JsonArray(ObjectInfo.Files(folders, "embeddings")
                .Select(f => (JsonNode)JsonValue.Create(Path.GetFileNameWithoutExtension(f))).ToArray())));
            if (prefix.Length == 0)
            {
                // ComfyUI's folder list stays at the root only: /api/models is FlowDiffusion's own model list (two
                // handlers on one route made every request to it fail).
                group.MapGet("/models", () => Results.Json(new JsonArray(ModelFolders.Select(f => (JsonNode)JsonValue.Create(f)).ToArray())));
            }

            group.MapGet("/models/{folder}", ModelsIn);
            group.MapGet("/extensions", () => Results.Json(new JsonArray()));
            group.MapGet("/ws", SocketAsync);
        }

        // Ours, not ComfyUI's: a ComfyUI workflow file (API or UI JSON, or a ComfyUI PNG) in, FlowDiffusion YAML out.
        app.MapPost("/api/comfy/import", ImportAsync).DisableAntiforgery();
        // ComfyUI serves its internal routes at the root only; its frontend's remote combos ask for /internal/files/output.
        app.MapGet("/internal/files/{directory_type}", Files);
        return app;
    }

    /// <summary>Whether a request path is one of the layer's routes at the root, A1111's <c>/sdapi</c> and the ControlNet extension's <c>/controlnet</c> included (the editor protects them like <c>/api</c>).</summary>
    public static bool IsComfyPath(PathString path) => RootSegments.Any(s => path.StartsWithSegments(s));

    private static readonly string[] RootSegments =
        ["/prompt", "/queue", "/interrupt", "/history", "/view", "/upload", "/object_info", "/system_stats", "/embeddings", "/models", "/extensions", "/ws", "/internal", "/sdapi", "/controlnet"];

    /// <summary>The model folder names <c>/models</c> lists (ComfyUI's).</summary>
    public static IReadOnlyList<string> ModelFolders { get; } =
        ["checkpoints", "loras", "vae", "embeddings", "controlnet", "upscale_models", "clip_vision", "unet", "diffusion_models", "clip", "text_encoders"];

    private static async Task<IResult> PostPromptAsync(HttpRequest request, ComfyPrompts prompts, ComfyFolders folders, CancellationToken cancellationToken)
    {
        // Any content type: SillyTavern posts text/plain.
        JsonNode? body;
        try
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            body = JsonNode.Parse(await reader.ReadToEndAsync(cancellationToken), documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            return Invalid("invalid_prompt", "Invalid prompt", $"the body is not JSON: {e.Message}");
        }

        if (body is not JsonObject { } request2 || request2["prompt"] is not JsonObject prompt)
            return Invalid("invalid_prompt", "No prompt provided", "send { \"prompt\": { node id: { \"class_type\", \"inputs\" } }, \"client_id\": … }");
        var clientId = request2["client_id"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>() : null;
        var conversion = ApiPromptConverter.Convert(prompt, folders,
            extraPngInfo: request2["extra_data"] is JsonObject extra && extra["extra_pnginfo"] is JsonObject info ? info : null);
        if (!conversion.IsValid) return Results.Json(conversion.ErrorJson(), statusCode: StatusCodes.Status400BadRequest);
        try
        {
            var queued = await prompts.QueueAsync((JsonObject)prompt.DeepClone(), conversion, clientId, request2["extra_data"]?.DeepClone(), cancellationToken);
            return Results.Json(new JsonObject { ["prompt_id"] = queued.Id, ["number"] = queued.Number, ["node_errors"] = new JsonObject() });
        }
        catch (ComfyBackendException e)
        {
            // The engine refused the converted graph: report it on the ComfyUI node each error concerns.
            var errors = new Dictionary<string, (string, IReadOnlyList<ComfyNodeError>)>(StringComparer.Ordinal);
            foreach (var group in e.Errors.GroupBy(x => x.NodeId is null ? "" : conversion.ComfyIdOf.GetValueOrDefault(x.NodeId, "")))
            {
                var id = group.Key.Length > 0 ? group.Key : conversion.OutputNodes.FirstOrDefault() ?? "";
                errors[id] = (conversion.ClassTypes.GetValueOrDefault(id, ""), group.Select(x => new ComfyNodeError("exception_during_validation", "Invalid value", x.Message)).ToList());
            }

            return Results.Json(new PromptConversion { NodeErrors = errors, OutputNodes = conversion.OutputNodes }.ErrorJson(), statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> ImportAsync(HttpRequest request, ComfyFolders folders, IOptions<ServerOptions> options, string? name, CancellationToken cancellationToken)
    {
        var limit = Math.Min(options.Value.MaxUploadBytes, ComfyWorkflowImport.MaxBytes);
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        using var body = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(body, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Results.Problem(statusCode: 413, title: "Workflow file too large", detail: $"Send at most {limit} bytes.");
        }

        var workflowName = name is { Length: > 0 and <= 100 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') ? name : "comfyui";
        var (conversion, problems) = ComfyWorkflowImport.Import(body.ToArray(), workflowName, folders);
        if (conversion?.Workflow is not { } workflow || problems.Count > 0)
        {
            return Results.Problem(statusCode: 400, title: "Cannot convert the ComfyUI workflow", detail: string.Join("; ", problems),
                extensions: new Dictionary<string, object?> { ["problems"] = problems });
        }

        return Results.Json(new JsonObject
        {
            ["yaml"] = Engine.Workflows.WorkflowYamlWriter.Write(workflow),
            ["warnings"] = new JsonArray(conversion.Warnings.Select(w => (JsonNode)JsonValue.Create(w)).ToArray()),
        });
    }

    private static async Task<IResult> GetQueueAsync(ComfyPrompts prompts, CancellationToken cancellationToken)
    {
        var active = await prompts.Backend.ListAsync(["queued", "running"], 10000, cancellationToken);
        JsonArray Entries(string status) => new(active.Where(r => r.Status == status).Select(r => prompts.Get(r.Id)).OfType<ComfyPrompt>()
            .Select(p => (JsonNode)p.QueueEntry()).ToArray());
        return Results.Json(new JsonObject { ["queue_running"] = Entries("running"), ["queue_pending"] = Entries("queued") });
    }

    private static async Task<IResult> PostQueueAsync(HttpRequest request, ComfyPrompts prompts, CancellationToken cancellationToken)
    {
        var body = await ReadJsonAsync(request, cancellationToken);
        if (body?["clear"] is JsonValue clear && clear.GetValueKind() == JsonValueKind.True)
        {
            foreach (var run in await prompts.Backend.ListAsync(["queued"], 10000, cancellationToken))
                if (prompts.Get(run.Id) is not null) await prompts.Backend.CancelAsync(run.Id, cancellationToken);
        }

        if (body?["delete"] is JsonArray delete)
        {
            foreach (var id in delete.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>()))
            {
                if (await prompts.Backend.GetAsync(id, cancellationToken) is { Status: "queued" }) await prompts.Backend.CancelAsync(id, cancellationToken);
            }
        }

        return Results.Ok();
    }

    private static async Task<IResult> InterruptAsync(HttpRequest request, ComfyPrompts prompts, CancellationToken cancellationToken)
    {
        var body = await ReadJsonAsync(request, cancellationToken);
        var only = body?["prompt_id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        await prompts.InterruptAsync(only, cancellationToken);
        return Results.Ok();
    }

    private static async Task<IResult> GetHistory(ComfyPrompts prompts, int? max_items, CancellationToken cancellationToken) =>
        Results.Json(await prompts.HistoryAsync(max_items, cancellationToken));

    private static async Task<IResult> PostHistoryAsync(HttpRequest request, ComfyPrompts prompts, CancellationToken cancellationToken)
    {
        var body = await ReadJsonAsync(request, cancellationToken);
        if (body?["clear"] is JsonValue clear && clear.GetValueKind() == JsonValueKind.True)
        {
            foreach (var id in await prompts.FinishedIdsAsync(cancellationToken)) prompts.Forget(id);
        }

        if (body?["delete"] is JsonArray delete)
        {
            foreach (var id in delete.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String)) prompts.Forget(id.GetValue<string>());
        }

        return Results.Ok();
    }

    private static IResult View(string? filename, string? subfolder, string? type, ComfyPrompts prompts, ComfyFolders folders)
    {
        if (string.IsNullOrEmpty(filename)) return Results.BadRequest();
        var root = type switch
        {
            null or "" or "output" or "temp" => prompts.Backend.OutputFolder,
            "input" => folders.InputFolder,
            _ => null,
        };
        if (root is null) return Results.BadRequest();
        var relative = string.IsNullOrEmpty(subfolder) ? filename : subfolder.Replace('\\', '/').Trim('/') + "/" + filename;
        var path = ComfyFolders.Inside(root, relative);
        if (path is null || !File.Exists(path)) return Results.NotFound();
        if (!ContentTypes.TryGetContentType(path, out var contentType)) contentType = "application/octet-stream";
        return Results.File(path, contentType, fileDownloadName: null, enableRangeProcessing: false);
    }

    private static IResult Files(string directory_type, ComfyFolders folders) =>
        ComfyFileList.Of(directory_type, folders) is { } names
            ? Results.Json(new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()))
            : Results.Json(new JsonObject { ["error"] = $"Invalid directory type '{directory_type}': use {string.Join(", ", ComfyFileList.DirectoryTypes)}" },
                statusCode: StatusCodes.Status400BadRequest);

    // maskOf: null for /upload/image; for /upload/mask the backend whose output folder original_ref may name.
    private static async Task<IResult> UploadAsync(HttpRequest request, ComfyFolders folders, IOptions<ServerOptions> options, IOptions<FlowDiffusionOptions> engine, IComfyBackend? maskOf, CancellationToken cancellationToken)
    {
        const string field = "image";
        var limit = options.Value.MaxUploadBytes;
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit + (64 << 10);
        if (!request.HasFormContentType) return Results.BadRequest();
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception e) when (e is BadHttpRequestException or InvalidDataException)
        {
            return Results.BadRequest();
        }

        var file = form.Files.GetFile(field) ?? form.Files.FirstOrDefault();
        if (file is null || file.Length > limit) return Results.BadRequest();
        var subfolder = form["subfolder"].ToString().Replace('\\', '/').Trim('/');
        var name = Path.GetFileName(file.FileName.Replace('\\', '/'));
        if (name.Length == 0 || name.Length > 200 || name.Any(c => char.IsControl(c) || Path.GetInvalidFileNameChars().Contains(c))) return Results.BadRequest();
        var folder = subfolder.Length == 0 ? Path.GetFullPath(folders.InputFolder) : ComfyFolders.Inside(folders.InputFolder, subfolder);
        if (folder is null) return Results.BadRequest();

        var bytes = new byte[file.Length];
        await using (var content = file.OpenReadStream())
            await content.ReadExactlyAsync(bytes, cancellationToken);
        // The same checks as our own upload route: the header against the image limits first, then a full decode, so a
        // file that merely starts like an image is refused here and never reaches a run.
        var limits = new ImageLimits { MaxPixels = engine.Value.MaxImagePixels, MaxDimension = engine.Value.MaxImageDimension, MaxFileBytes = limit };
        try
        {
            ImageFile.Check(bytes, name, limits);
            RgbaPixels.Decode(bytes, name, limits: limits).Dispose();
        }
        catch (InvalidDataException)
        {
            return Results.BadRequest();
        }

        if (maskOf is not null)
        {
            // ComfyUI's mask editor: the uploaded image's alpha becomes the alpha of the original it names; that is saved.
            var merged = MergeMask(form["original_ref"].ToString(), bytes, name, folders, maskOf, limits);
            if (merged.Error is { } error) return Results.BadRequest(new JsonObject { ["error"] = error });
            bytes = merged.Png!;
        }

        Directory.CreateDirectory(folder);
        var overwrite = form["overwrite"].ToString() is "true" or "1";
        var target = Path.Combine(folder, name);
        // ComfyUI keeps an existing file and numbers the new one: "name (1).png".
        for (var i = 1; !overwrite && File.Exists(target); i++)
            target = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(name)} ({i}){Path.GetExtension(name)}");
        var temporary = target + ".part";
        try
        {
            await using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await output.WriteAsync(bytes, cancellationToken);
            }

            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }

        return Results.Json(new JsonObject { ["name"] = Path.GetFileName(target), ["subfolder"] = subfolder, ["type"] = "input" });
    }

    private static (byte[]? Png, string? Error) MergeMask(string originalRef, byte[] mask, string name, ComfyFolders folders, IComfyBackend backend, ImageLimits limits)
    {
        JsonObject? reference;
        try
        {
            reference = JsonNode.Parse(originalRef) as JsonObject;
        }
        catch (JsonException)
        {
            reference = null;
        }

        if (reference?["filename"] is not JsonValue filenameValue || filenameValue.GetValueKind() != JsonValueKind.String)
            return (null, "original_ref: a JSON object {filename, subfolder, type} naming the image the mask belongs to is required");
        // ComfyUI's annotated names: "photo.png [input]" names the folder too.
        var (filename, annotated) = ComfyFolders.Annotated(filenameValue.GetValue<string>());
        var type = annotated ?? (reference["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : "output");

        var root = type switch
        {
            "input" => folders.InputFolder,
            "output" or "temp" => backend.OutputFolder,
            _ => null,
        };
        if (root is null) return (null, $"original_ref.type: '{type}' is not input, output or temp");
        var subfolder = reference["subfolder"] is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>().Replace('\\', '/').Trim('/') : "";
        var path = ComfyFolders.Inside(root, subfolder.Length == 0 ? filename : subfolder + "/" + filename);
        if (path is null || !File.Exists(path)) return (null, $"original_ref: '{filename}' is not an image in the {type} folder");
        try
        {
            using var original = RgbaPixels.Read(path, filename, limits: limits);
            using var alpha = RgbaPixels.Decode(mask, name, limits: limits);
            if (alpha.Width != original.Width || alpha.Height != original.Height)
                return (null, $"the mask is {alpha.Width}×{alpha.Height} but '{filename}' is {original.Width}×{original.Height}");
            var pixels = original.Bytes.AsSpan(0, 4 * original.Width * original.Height).ToArray();
            for (var i = 3; i < pixels.Length; i += 4) pixels[i] = alpha.Bytes[i];
            return (PreviewPng.EncodeRgba(pixels, original.Width, original.Height), null);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return (null, $"original_ref: '{filename}' cannot be read as an image");
        }
    }

    private static IResult SystemStats()
    {
        var memory = GC.GetGCMemoryInfo();
        return Results.Json(new JsonObject
        {
            ["system"] = new JsonObject
            {
                ["os"] = Environment.OSVersion.Platform == PlatformID.Unix ? "posix" : "nt",
                ["ram_total"] = memory.TotalAvailableMemoryBytes,
                ["ram_free"] = Math.Max(0, memory.TotalAvailableMemoryBytes - memory.MemoryLoadBytes),
                ["comfyui_version"] = "flowdiffusion",
                ["python_version"] = "none (FlowDiffusion, .NET " + Environment.Version + ")",
                ["pytorch_version"] = "none (ONNX Runtime)",
                ["embedded_python"] = false,
                ["argv"] = new JsonArray(),
            },
            ["devices"] = new JsonArray(new JsonObject
            {
                ["name"] = "cpu", ["type"] = "cpu", ["index"] = 0,
                ["vram_total"] = 0, ["vram_free"] = 0, ["torch_vram_total"] = 0, ["torch_vram_free"] = 0,
            }),
        });
    }

    private static IResult ModelsIn(string folder, ComfyFolders folders) =>
        !ModelFolders.Contains(folder) ? Results.NotFound()
        : Results.Json(new JsonArray((folder == "checkpoints" ? folders.Checkpoints() : ObjectInfo.Files(folders, folder))
            .Select(f => (JsonNode)JsonValue.Create(f)).ToArray()));

    private static async Task SocketAsync(HttpContext context, ComfyPrompts prompts, ComfySockets sockets, string? clientId)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var sid = clientId is { Length: > 0 and <= 200 } ? clientId : Guid.NewGuid().ToString("N");
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var status = await prompts.StatusAsync(context.RequestAborted);
        status["sid"] = sid;
        await sockets.ServeAsync(socket, sid, new JsonObject { ["type"] = "status", ["data"] = status }, context.RequestAborted);
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(cancellationToken);
            return text.Length == 0 ? null : JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IResult Invalid(string type, string message, string details) => Results.Json(new JsonObject
    {
        ["error"] = new ComfyNodeError(type, message, details).ToJson(),
        ["node_errors"] = new JsonObject(),
    }, statusCode: StatusCodes.Status400BadRequest);
}
