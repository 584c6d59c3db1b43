using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Puts <see cref="ApiSchemas"/> into the OpenAPI document: every schema under <c>components/schemas</c>, each route's
/// request and response bodies from its <see cref="ApiBodySchema"/> metadata, <see cref="ApiSchemas.Problem"/> for
/// every problem response, and a string for the YAML, file and event-stream bodies.
/// </summary>
internal static class ApiSchemaTransformers
{
    /// <summary>Adds the transformers to the document's options.</summary>
    public static OpenApiOptions AddApiSchemas(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
            // ASP.NET's own guesses for the bodies these replace.
            foreach (var replaced in new[] { "ProblemDetails", "RunRequest", "IFormFile", "JsonElement" })
                document.Components.Schemas.Remove(replaced);
            foreach (var (name, schema) in ApiSchemas.All) document.Components.Schemas[name] = schema;
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
                        "text/event-stream" => new OpenApiSchema { Type = JsonSchemaType.String, Description = "Server-sent events: each has an event name and one JSON object of data (docs/events.md)." },
                        "application/yaml" => ApiSchemas.Ref(ApiSchemas.WorkflowText),
                        _ => media.Schema,
                    };
                }
            }
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
}
