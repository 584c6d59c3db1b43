using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FlowDiffusion.Server.Api;

/// <summary>
/// Endpoint metadata naming the <see cref="ApiSchemas"/> schema of a route's body: its request body when
/// <see cref="Status"/> is null, else its response with that status. Read by <see cref="ApiSchemaTransformers"/>.
/// </summary>
internal sealed record ApiBodySchema(int? Status, string Schema);

/// <summary>Declares a route's body schemas beside its statuses.</summary>
internal static class ApiBodySchemaExtensions
{
    /// <summary>The route answers <paramref name="status"/> with a JSON body of <paramref name="schema"/>.</summary>
    public static RouteHandlerBuilder Returns(this RouteHandlerBuilder route, int status, string schema) =>
        route.Produces(status, contentType: "application/json").WithMetadata(new ApiBodySchema(status, schema));

    /// <summary>The route's request body is <paramref name="schema"/>.</summary>
    public static RouteHandlerBuilder Takes(this RouteHandlerBuilder route, string schema) => route.WithMetadata(new ApiBodySchema(null, schema));
}
