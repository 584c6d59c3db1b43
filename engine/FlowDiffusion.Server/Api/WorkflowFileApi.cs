using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Engine.Validation;
using FlowDiffusion.Engine.Workflows;
using Microsoft.AspNetCore.Http;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// <c>GET</c> and <c>PUT /api/workflows/{name}</c>: saved workflow files, read only inside the workflows folder (links
/// out of it are not followed), written as strict UTF-8, validated, and one writer per name at a time.
/// </summary>
internal static class WorkflowFileApi
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Writers = new(StringComparer.Ordinal);

    public static IResult Get(string name, FlowDiffusionEngine engine)
    {
        if (!WorkflowNames.IsValid(name)) return FlowDiffusionApi.BadName(name);
        var file = ContainedFile.Resolve(engine.Options.WorkflowsFolder, name + ".yaml");
        return file is not null
            ? TypedResults.Text(File.ReadAllText(file), "application/yaml", Encoding.UTF8)
            : FlowDiffusionApi.NotFound($"No saved workflow '{name}'.");
    }

    /// <summary>
    /// Saves a workflow that validates; with <c>?draft=true</c> one that does not is saved too (a half-built graph),
    /// answered with <c>"valid": false</c> and its problems.
    /// </summary>
    public static async Task<IResult> PutAsync(string name, bool? draft, HttpRequest request, FlowDiffusionEngine engine, CancellationToken cancellationToken)
    {
        if (!WorkflowNames.IsValid(name)) return FlowDiffusionApi.BadName(name);
        string yaml;
        try
        {
            using var reader = new StreamReader(request.Body, StrictUtf8, detectEncodingFromByteOrderMarks: false);
            yaml = await reader.ReadToEndAsync(cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return FlowDiffusionApi.Problem(StatusCodes.Status413PayloadTooLarge, "Workflow too large",
                $"The workflow is larger than the {request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes this server accepts (FlowDiffusion:Server:MaxRequestBytes). Nothing was saved.");
        }
        catch (DecoderFallbackException e)
        {
            return FlowDiffusionApi.Problem(StatusCodes.Status400BadRequest, "Not UTF-8",
                $"The workflow is not valid UTF-8 (byte {e.Index} of a bad sequence); save it as UTF-8 text. Nothing was saved.");
        }
        var read = WorkflowYamlReader.Read(yaml, name + ".yaml");
        if (read.Workflow is null || read.HasErrors)
            return FlowDiffusionApi.Invalid(read.Diagnostics, "The workflow YAML cannot be read; it was not saved.");
        var check = engine.Parse(yaml, name + ".yaml");
        if (!check.IsValid && draft != true)
            return FlowDiffusionApi.Invalid(check.Diagnostics, "The workflow has errors; it was not saved. Fix them, or save it as a draft with ?draft=true.");

        var file = WorkflowNames.FileOf(engine.Options.WorkflowsFolder, name);
        var writer = Writers.GetOrAdd(file, _ => new SemaphoreSlim(1, 1));
        await writer.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            // A fresh temporary name per write, renamed over the file once complete: readers never see half a workflow.
            var temporary = $"{file}.{Guid.NewGuid():N}.tmp";
            try
            {
                await File.WriteAllTextAsync(temporary, yaml, StrictUtf8, cancellationToken);
                File.Move(temporary, file, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary)) File.Delete(temporary);
            }
        }
        finally
        {
            writer.Release();
        }
        return TypedResults.Ok(new JsonObject
        {
            ["name"] = name,
            ["valid"] = check.IsValid,
            ["diagnostics"] = FlowDiffusionApi.DiagnosticsJson(check.Diagnostics),
        });
    }
}
