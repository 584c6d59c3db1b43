using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>AUTOMATIC1111's web API (<c>--api</c>, routes under <c>/sdapi/v1</c>) over the ComfyUI layer's queue.</summary>
public static class A1111Routes
{
    /// <summary>Maps the routes onto <paramref name="app"/> (after <see cref="ComfyRoutes.MapComfyApi"/>; the services come with <c>AddComfyCompatibility</c>).</summary>
    public static WebApplication MapA1111Api(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var group = app.MapGroup("/sdapi/v1");
        group.MapPost("/txt2img", (HttpRequest r, A1111Jobs jobs, CancellationToken ct) => GenerateAsync(r, jobs, false, ct)).DisableAntiforgery();
        group.MapPost("/img2img", (HttpRequest r, A1111Jobs jobs, CancellationToken ct) => GenerateAsync(r, jobs, true, ct)).DisableAntiforgery();
        group.MapGet("/sd-models", (A1111Jobs jobs) => Results.Json(new JsonArray(jobs.Checkpoints.Select(c => (JsonNode)Model(c, jobs)).ToArray())));
        group.MapPost("/refresh-checkpoints", Null).DisableAntiforgery();
        group.MapGet("/samplers", () => Results.Json(new JsonArray(A1111Samplers.All.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["aliases"] = new JsonArray(s.Aliases.Select(a => (JsonNode)JsonValue.Create(a)).ToArray()),
            ["options"] = s.AutomaticScheduler is "normal" ? new JsonObject() : new JsonObject { ["scheduler"] = s.AutomaticScheduler == "ddim_uniform" ? "ddim" : s.AutomaticScheduler },
        }).ToArray())));
        group.MapGet("/schedulers", () => Results.Json(new JsonArray(A1111Samplers.Schedulers.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["label"] = s.Label,
            ["aliases"] = null,
            ["default_rho"] = s.Name == "karras" ? 7.0 : -1.0,
            ["need_inner_model"] = false,
        }).ToArray())));
        group.MapGet("/options", (A1111Jobs jobs, A1111Settings settings) => Results.Json(settings.ToJson(jobs.DefaultCheckpoint)));
        group.MapPost("/options", SetOptionsAsync).DisableAntiforgery();
        group.MapGet("/progress", async (A1111Jobs jobs, CancellationToken ct) => Results.Json(await jobs.ProgressAsync(ct)));
        group.MapPost("/interrupt", async (ComfyPrompts prompts, CancellationToken ct) =>
        {
            await prompts.InterruptAsync(null, ct);
            return Null();
        }).DisableAntiforgery();
        group.MapPost("/skip", async (ComfyPrompts prompts, CancellationToken ct) =>
        {
            await prompts.InterruptAsync(null, ct);
            return Null();
        }).DisableAntiforgery();
        group.MapGet("/loras", (ComfyFolders folders) => Results.Json(new JsonArray(ObjectInfo.Files(folders, "loras").Select(f => (JsonNode)new JsonObject
        {
            ["name"] = Path.GetFileNameWithoutExtension(f),
            ["alias"] = Path.GetFileNameWithoutExtension(f),
            ["path"] = "models/loras/" + f,
            ["metadata"] = new JsonObject(),
        }).ToArray())));
        group.MapGet("/embeddings", (ComfyFolders folders) =>
        {
            var loaded = new JsonObject();
            foreach (var file in ObjectInfo.Files(folders, "embeddings"))
            {
                loaded[Path.GetFileNameWithoutExtension(file)] = new JsonObject
                {
                    ["step"] = null, ["sd_checkpoint"] = null, ["sd_checkpoint_name"] = null, ["shape"] = null, ["vectors"] = null,
                };
            }

            return Results.Json(new JsonObject { ["loaded"] = loaded, ["skipped"] = new JsonObject() });
        });
        group.MapGet("/upscalers", (ComfyFolders folders) => Results.Json(new JsonArray(A1111Upscalers.List(folders).Select(u => (JsonNode)A1111Upscalers.Entry(u)).ToArray())));
        group.MapPost("/extra-single-image", (HttpRequest r, A1111Jobs jobs, CancellationToken ct) => RespondAsync(r, jobs.MaxBodyBytes, body => A1111Extras.RunAsync(body, false, jobs, ct), ct)).DisableAntiforgery();
        group.MapPost("/extra-batch-images", (HttpRequest r, A1111Jobs jobs, CancellationToken ct) => RespondAsync(r, jobs.MaxBodyBytes, body => A1111Extras.RunAsync(body, true, jobs, ct), ct)).DisableAntiforgery();
        group.MapPost("/png-info", (HttpRequest r, A1111Jobs jobs, CancellationToken ct) => RespondAsync(r, jobs.MaxBodyBytes, body => Task.FromResult(A1111PngInfo.Read(body, jobs.ImageLimits)), ct)).DisableAntiforgery();
        group.MapGet("/latent-upscale-modes", () => Results.Json(new JsonArray(A1111HiresFix.LatentModes.Keys.Select(m => (JsonNode)new JsonObject { ["name"] = m }).ToArray())));
        group.MapGet("/sd-vae", () => Results.Json(new JsonArray()));
        group.MapGet("/hypernetworks", () => Results.Json(new JsonArray()));
        group.MapGet("/prompt-styles", () => Results.Json(new JsonArray()));
        group.MapGet("/cmd-flags", () => Results.Json(new JsonObject { ["api"] = true }));
        app.MapA1111ControlNetApi();
        return app;
    }

    // A1111's answer to a command: JSON null.
    private static IResult Null() => Results.Content("null", "application/json");

    // A1111's sd-models entry: the title is the name (A1111 appends " [hash]" where it has hashed the file; FlowDiffusion
    // hashes nothing on a listing, so hash and sha256 are null as in A1111 before a file is hashed).
    private static JsonObject Model(string checkpoint, A1111Jobs jobs) => new()
    {
        ["title"] = checkpoint,
        ["model_name"] = A1111Infotext.ModelName(checkpoint),
        ["hash"] = null,
        ["sha256"] = null,
        ["filename"] = jobs.PathOf(checkpoint),
        ["config"] = null,
    };

    private static Task<IResult> GenerateAsync(HttpRequest request, A1111Jobs jobs, bool img2img, CancellationToken cancellationToken) =>
        RespondAsync(request, jobs.MaxBodyBytes, body => jobs.GenerateAsync(body, img2img, cancellationToken), cancellationToken);

    // Reads the body and answers what run gives, or A1111's error body for a refused request or a failed run.
    private static async Task<IResult> RespondAsync(HttpRequest request, long limit, Func<JsonNode?, Task<JsonObject>> run, CancellationToken cancellationToken)
    {
        try
        {
            return Results.Json(await run(await ReadAsync(request, limit, cancellationToken)));
        }
        catch (A1111RequestException e)
        {
            return Results.Json(e.ToJson(), statusCode: e.Status);
        }
        catch (A1111RunFailedException e)
        {
            return Results.Json(new JsonObject { ["error"] = "RuntimeError", ["detail"] = e.Message, ["body"] = "", ["errors"] = e.Message },
                statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    private static async Task<IResult> SetOptionsAsync(HttpRequest request, A1111Jobs jobs, A1111Settings settings, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ReadAsync(request, 1 << 20, cancellationToken);
            var (checkpoint, clipSkip) = A1111Request.Overrides(body, "");
            if (checkpoint is not null) settings.Checkpoint = jobs.ResolveCheckpoint(checkpoint, "sd_model_checkpoint");
            if (clipSkip is { } skip) settings.ClipSkip = skip;
            return Null();
        }
        catch (A1111RequestException e)
        {
            return Results.Json(e.ToJson(), statusCode: e.Status);
        }
    }

    /// <summary>Reads a JSON body of at most <paramref name="limit"/> bytes; throws <see cref="A1111RequestException"/> (422, 413) otherwise.</summary>
    internal static async Task<JsonNode?> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        try
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(cancellationToken);
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new A1111RequestException(422, "body", $"the body is not JSON: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new A1111RequestException(413, "body", $"the body is over {limit} bytes (FlowDiffusion:Server:MaxUploadBytes bounds init images)");
        }
    }
}
