using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Catalog;
using FlowDiffusion.Engine.Hosting;
using Microsoft.AspNetCore.Http;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// <c>GET /api/models</c>: what the configured models folder holds, as <c>flowdiffusion models</c> lists it
/// (<see cref="ModelCatalog.List"/>: kind, architecture, precision, size). Only that folder is listed; the request
/// names no path.
/// </summary>
internal static class ModelListApi
{
    public static IResult List(FlowDiffusionEngine engine)
    {
        var options = engine.Options;
        var folder = Path.GetFullPath(options.ModelsFolder);
        // Paths as workflows write them: relative to the folder runs resolve relative paths against.
        var working = Path.GetFullPath(options.WorkingFolder is { Length: > 0 } root ? root : Environment.CurrentDirectory);
        var models = new JsonArray();
        foreach (var entry in ModelCatalog.List(folder))
        {
            models.Add(new JsonObject
            {
                ["path"] = Path.GetRelativePath(working, Path.Combine(folder, entry.Path)).Replace('\\', '/'),
                ["kind"] = entry.Kind,
                ["architecture"] = entry.Architecture,
                ["precision"] = entry.Precision,
                ["bytes"] = entry.Bytes,
            });
        }

        return TypedResults.Ok(new JsonObject { ["models"] = models });
    }
}
