using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FlowDiffusion.Comfy.A1111;

/// <summary>The sd-webui-controlnet extension's routes (<c>/controlnet/…</c>) beside A1111's API.</summary>
public static class A1111ControlNetRoutes
{
    /// <summary>The extension's API version (its <c>get_api_version</c>).</summary>
    public const int ApiVersion = 3;

    /// <summary>The most images one <c>/controlnet/detect</c> request may carry.</summary>
    public const int MaxDetectImages = 16;

    /// <summary>Maps the routes onto <paramref name="app"/> (the services come with <c>AddComfyCompatibility</c>).</summary>
    public static WebApplication MapA1111ControlNetApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var group = app.MapGroup("/controlnet");
        group.MapGet("/version", () => Results.Json(new JsonObject { ["version"] = ApiVersion }));
        // The list is read from the folder on every request, so update changes nothing.
        group.MapGet("/model_list", (ComfyFolders folders, bool? update) =>
            Results.Json(new JsonObject { ["model_list"] = new JsonArray([.. A1111ControlNetModels.List(folders).Select(m => (JsonNode)JsonValue.Create(m))]) }));
        group.MapGet("/module_list", (ComfyFolders folders, bool? alias_names) =>
        {
            var modules = A1111ControlNetModules.Sorted(folders);
            string Key(A1111ControlNetModule m) => alias_names == true ? m.Label : m.Name;
            var detail = new JsonObject();
            foreach (var module in modules) detail[Key(module)] = new JsonObject { ["model_free"] = false, ["sliders"] = module.Sliders() };
            return Results.Json(new JsonObject
            {
                ["module_list"] = new JsonArray([.. modules.Select(m => (JsonNode)JsonValue.Create(Key(m)))]),
                ["module_detail"] = detail,
            });
        });
        group.MapGet("/control_types", (ComfyFolders folders) => Results.Json(A1111ControlNetTypes.List(folders)));
        group.MapGet("/settings", () => Results.Json(new JsonObject { ["control_net_unit_count"] = A1111ControlNetUnit.MaxUnits }));
        group.MapPost("/detect", DetectAsync).DisableAntiforgery();
        return app;
    }

    // Runs a module on each image, as ComfyUI nodes through the queue; answers the control images as base64 PNGs.
    private static async Task<IResult> DetectAsync(HttpRequest request, A1111Jobs jobs, ComfyFolders folders, CancellationToken cancellationToken)
    {
        try
        {
            var body = await A1111Routes.ReadAsync(request, jobs.MaxBodyBytes * MaxDetectImages, cancellationToken) as JsonObject
                       ?? throw new A1111RequestException(422, "body", "the body must be a JSON object (controlnet_module, controlnet_input_images …)");
            var name = body["controlnet_module"] is { } named && named.GetValueKind() != JsonValueKind.Null
                ? named is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new A1111RequestException(422, "controlnet_module", "must be a string")
                : "none";
            var module = A1111ControlNetModules.Find(name) is { } found && (found.Available?.Invoke(folders) ?? true) ? found
                : throw new A1111RequestException(422, "controlnet_module", $"'{name}': module not available; use one of {string.Join(", ", A1111ControlNetModules.Sorted(folders).Select(m => m.Name))} (GET /controlnet/module_list)");
            if (body["controlnet_input_images"] is not JsonArray { Count: > 0 } inputs) throw new A1111RequestException(422, "controlnet_input_images", "no image selected: send a list of base64 images");
            if (inputs.Count > MaxDetectImages) throw new A1111RequestException(422, "controlnet_input_images", $"{inputs.Count} images: at most {MaxDetectImages} a request");
            var resolution = Slider(body, "controlnet_processor_res", module.Resolution);
            var a = Slider(body, "controlnet_threshold_a", module.SliderA);
            var b = Slider(body, "controlnet_threshold_b", module.SliderB);

            var graph = new JsonObject();
            for (var i = 0; i < inputs.Count; i++)
            {
                var field = $"controlnet_input_images[{i}]";
                var encoded = inputs[i] is JsonValue e && e.GetValueKind() == JsonValueKind.String ? e.GetValue<string>() : throw new A1111RequestException(422, field, "must be a base64 image");
                var (image, width, height) = jobs.SaveImage(A1111Jobs.Base64(encoded, field), field, dropAlpha: false);
                var nodes = new A1111ControlNetNodes(graph, $"detect_{i}");
                var loaded = nodes.Add("image", "LoadImage", new JsonObject { ["image"] = image });
                var (map, _, _) = A1111ControlNet.Preprocess(nodes, module, loaded, width, height, Math.Max(1, (int)resolution), a, b, field);
                nodes.Add("map", "PreviewImage", new JsonObject { ["images"] = map });
            }

            var queued = await jobs.QueueAsync(graph, A1111Prompt.FieldFor, cancellationToken);
            while (!queued.Finished) await Task.Delay(20, cancellationToken);
            if (!queued.Completed)
            {
                var last = queued.HistoryEntry()["status"]!["messages"]!.AsArray().LastOrDefault();
                throw new A1111RunFailedException(last?[1]?["exception_message"]?.GetValue<string>() ?? "the preprocessor did not finish");
            }

            var images = new JsonArray();
            for (var i = 0; i < inputs.Count; i++)
            {
                var png = await jobs.OutputPngAsync(queued, $"detect_{i}_map", cancellationToken) ?? throw new A1111RunFailedException($"image {i} has no result");
                images.Add(Convert.ToBase64String(png));
            }

            return Results.Json(new JsonObject { ["images"] = images, ["info"] = "Success" });
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

    // A slider parameter of the detect body (−1 or out of range: the module's default, as the extension's unit takes it).
    private static double Slider(JsonObject body, string field, A1111ControlNetSlider slider)
    {
        var node = body[field];
        if (node is null || node.GetValueKind() == JsonValueKind.Null) return slider.Value;
        var value = JsonNumbers.Number(node)
                    ?? (node is JsonValue s && s.GetValueKind() == JsonValueKind.String && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) ? parsed : (double?)null)
                    ?? throw new A1111RequestException(422, field, $"must be a number, not {node.ToJsonString()}");
        return slider.Within(value) ? value : slider.Value;
    }
}
