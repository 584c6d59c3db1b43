using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Puts <see cref="ApiSchemas"/> into the OpenAPI document: every schema under <c>components/schemas</c>, each route's
/// request and response bodies from its <see cref="ApiBodySchema"/> metadata, <see cref="ApiSchemas.Problem"/> for
/// every problem response, and a string for the YAML, file and event-stream bodies (the events' data schemas, from
/// <see cref="RunEventSchemas"/>, named by event in the stream's <c>x-sse-events</c>). Each operation also lists what the
/// server's own checks answer before it runs (<see cref="ApiRefusals"/>), and with an API key configured the document
/// has the <c>X-Api-Key</c> security scheme, required by every operation but the health check.
/// </summary>
internal static class ApiSchemaTransformers
{
    /// <summary>Adds the transformers to the document's options.</summary>
    public static OpenApiOptions AddApiSchemas(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, context, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
            // ASP.NET's own guesses for the bodies these replace.
            foreach (var replaced in new[] { "ProblemDetails", "RunRequest", "IFormFile", "JsonElement" })
                document.Components.Schemas.Remove(replaced);
            foreach (var (name, schema) in ApiSchemas.All.Concat(RunEventSchemas.All)) document.Components.Schemas[name] = schema;
            if (!string.IsNullOrEmpty(context.ApplicationServices.GetRequiredService<IOptions<ServerOptions>>().Value.ApiKey))
            {
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
                document.Components.SecuritySchemes[ApiRefusals.ApiKeyScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeyCheck.Header,
                    Description = "The server's API key (FlowDiffusion:Server:ApiKey, flowdiffusion serve --api-key). Every route but /api/health needs it.",
                };
            }
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            // Only this API's routes (not the ComfyUI layer's).
            if (metadata.OfType<System.Reflection.MethodInfo>().FirstOrDefault()?.DeclaringType?.Assembly != typeof(ApiSchemas).Assembly) return Task.CompletedTask;
            var bodies = metadata.OfType<ApiBodySchema>().ToList();
            if (operation.RequestBody is OpenApiRequestBody request && bodies.FirstOrDefault(b => b.Status is null) is { } input)
            {
                foreach (var media in request.Content?.Values ?? []) media.Schema = ApiSchemas.Ref(input.Schema);
                request.Required = true;
            }
            // Each status with each content type the route declares; ASP.NET leaves a status declared without a CLR type bodiless.
            foreach (var produces in metadata.OfType<IProducesResponseTypeMetadata>())
            {
                var status = produces.StatusCode.ToString(CultureInfo.InvariantCulture);
                if (operation.Responses?.GetValueOrDefault(status) is not OpenApiResponse response) continue;
                var declared = bodies.FirstOrDefault(b => b.Status == produces.StatusCode);
                foreach (var type in produces.ContentTypes)
                {
                    response.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
                    if (!response.Content.TryGetValue(type, out var media)) response.Content[type] = media = new OpenApiMediaType();
                    media.Schema = type switch
                    {
                        "application/problem+json" => ApiSchemas.Ref(ApiSchemas.Problem),
                        _ when declared is not null => ApiSchemas.Ref(declared.Schema),
                        "application/octet-stream" => new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary", Description = "The file's bytes." },
                        "text/event-stream" => EventStream(media),
                        "application/yaml" => ApiSchemas.Ref(ApiSchemas.WorkflowText),
                        _ => media.Schema,
                    };
                }
            }
            // The answers of the server's own checks (API key, Host, origin), which run before the route.
            var server = context.ApplicationServices.GetRequiredService<IOptions<ServerOptions>>().Value;
            var method = context.Description.HttpMethod ?? "GET";
            var path = "/" + (context.Description.RelativePath ?? "");
            foreach (var (status, description) in ApiRefusals.For(method, path, server))
            {
                operation.Responses ??= new OpenApiResponses();
                operation.Responses[status.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
                {
                    Description = description,
                    Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                    {
                        ["application/problem+json"] = new() { Schema = ApiSchemas.Ref(ApiSchemas.Problem) },
                    },
                };
            }
            if (!string.IsNullOrEmpty(server.ApiKey) && ApiRefusals.NeedsKey(path))
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiRefusals.ApiKeyScheme, context.Document)] = [] }];
            // A query value is text however ASP.NET reads it: an integer parameter is documented as an integer, without
            // the "integer or digits" alternative ASP.NET adds.
            foreach (var parameter in operation.Parameters ?? [])
            {
                if (parameter.Schema is OpenApiSchema { Type: { } type } schema && type.HasFlag(JsonSchemaType.Integer))
                {
                    schema.Type = JsonSchemaType.Integer;
                    schema.Pattern = null;
                }
            }
            return Task.CompletedTask;
        });
        return options;
    }

    // The SSE body is text; its events' data schemas are named by event in the media type's x-sse-events (OpenAPI 3.1
    // has no keyword for the items of a stream).
    private static OpenApiSchema EventStream(OpenApiMediaType media)
    {
        var events = new JsonObject();
        foreach (var (kind, schema) in RunEventSchemas.Kinds) events[kind] = new JsonObject { ["$ref"] = "#/components/schemas/" + schema };
        media.Extensions ??= new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal);
        media.Extensions[RunEventSchemas.Extension] = new JsonNodeExtension(events);
        return new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "Server-sent events (docs/events.md): each has an event name and one line of JSON data, whose schema "
                + RunEventSchemas.Extension + " names by event: " + string.Join(", ", RunEventSchemas.Kinds.Select(k => k.Kind))
                + ". run_state comes first, run_ended last, then the stream closes.",
        };
    }
}
