using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Server.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Server.Tests;

/// <summary>
/// The OpenAPI document is true: it lists every route the API maps with the statuses each declares, and every status a
/// route really answers with is one it documents. API errors speak HTTP, not the CLI.
/// </summary>
public sealed class OpenApiDocumentTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // "METHOD /path" → documented status codes.
    private static async Task<Dictionary<string, SortedSet<int>>> DocumentedAsync(ApiHost host)
    {
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var documented = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        foreach (var (path, item) in document["paths"]!.AsObject())
        foreach (var (method, operation) in item!.AsObject())
            documented[$"{method.ToUpperInvariant()} {path}"] = [.. operation!["responses"]!.AsObject().Select(r => int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture))];
        return documented;
    }

    // The FlowDiffusion API's own routes (not ComfyUI's layer, not the document's), "METHOD /path" → declared statuses.
    private static Dictionary<string, SortedSet<int>> Mapped(ApiHost host)
    {
        var mapped = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        foreach (var endpoint in host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<MethodInfo>()?.DeclaringType?.Assembly != typeof(FlowDiffusionApi).Assembly) continue;
            var path = "/" + endpoint.RoutePattern.RawText!.TrimStart('/').Replace("{**", "{", StringComparison.Ordinal);
            foreach (var method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)
                mapped[$"{method} {path}"] = [.. endpoint.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>().Select(p => p.StatusCode)];
        }
        return mapped;
    }

    [Fact]
    public async Task Every_mapped_route_is_documented_with_exactly_the_statuses_it_declares()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var documented = await DocumentedAsync(host);
        var mapped = Mapped(host);

        Assert.Equal(15, mapped.Count);
        foreach (var (route, statuses) in mapped)
        {
            Assert.True(documented.TryGetValue(route, out var inDocument), $"{route} is mapped but not in the OpenAPI document");
            Assert.True(statuses.SetEquals(inDocument!), $"{route}: declares {string.Join(",", statuses)}, the document says {string.Join(",", inDocument!)}");
        }
        Assert.Equal(new[] { 202, 400 }, documented["POST /api/runs"]);
        Assert.Equal(new[] { 202, 404, 409 }, documented["POST /api/runs/{id}/cancel"]);
    }

    [Fact]
    public async Task Every_status_the_routes_answer_with_is_documented_for_that_route()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var documented = await DocumentedAsync(host);
        var observed = new List<(string Route, int Status, int Expected)>();
        async Task<HttpResponseMessage> Send(string route, HttpMethod method, string url, int expected, HttpContent? content = null)
        {
            var response = await host.Client.SendAsync(new HttpRequestMessage(method, url) { Content = content });
            observed.Add((route, (int)response.StatusCode, expected));
            return response;
        }

        var yaml = new StringContent(Workflows.Sum, Encoding.UTF8, "application/yaml");
        await Send("GET /api/health", HttpMethod.Get, "/api/health", 200);
        await Send("GET /api/nodes", HttpMethod.Get, "/api/nodes", 200);
        await Send("GET /api/models", HttpMethod.Get, "/api/models", 200);
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/sum", 200, yaml);
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/bad", 400, new StringContent("flowdiffusion: 1\nnodes:\n  x: { node: test.nosuch }\n", Encoding.UTF8, "application/yaml"));
        await Send("GET /api/workflows", HttpMethod.Get, "/api/workflows", 200);
        await Send("GET /api/workflows/{name}", HttpMethod.Get, "/api/workflows/sum", 200);
        await Send("GET /api/workflows/{name}", HttpMethod.Get, "/api/workflows/nosuch", 404);
        await Send("GET /api/workflows/{name}", HttpMethod.Get, "/api/workflows/a%20b", 400);
        var submitted = await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 202, JsonContent.Create(new { workflow = "sum" }));
        var id = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 400, JsonContent.Create(new { workflow = "sum", inputs = new { nosuch = 1 } }));
        var run = await host.WaitAsync(id);
        await Send("GET /api/runs", HttpMethod.Get, "/api/runs", 200);
        await Send("GET /api/runs/{id}", HttpMethod.Get, $"/api/runs/{id}", 200);
        await Send("GET /api/runs/{id}", HttpMethod.Get, "/api/runs/nosuch", 404);
        (await Send("GET /api/runs/{id}/events", HttpMethod.Get, $"/api/runs/{id}/events", 200)).Dispose();
        await Send("GET /api/runs/{id}/events", HttpMethod.Get, "/api/runs/nosuch/events", 404);
        await Send("POST /api/runs/{id}/cancel", HttpMethod.Post, $"/api/runs/{id}/cancel", 409);
        await Send("POST /api/runs/{id}/cancel", HttpMethod.Post, "/api/runs/nosuch/cancel", 404);
        var output = run["outputs"]![0]!["url"]!.GetValue<string>();
        await Send("GET /api/outputs/{runId}/{file}", HttpMethod.Get, output, 200);
        await Send("GET /api/outputs/{runId}/{file}", HttpMethod.Get, $"/api/outputs/{id}/nosuch.txt", 404);
        await Send("DELETE /api/runs/{id}", HttpMethod.Delete, $"/api/runs/{id}", 204);
        await Send("DELETE /api/runs/{id}", HttpMethod.Delete, $"/api/runs/{id}", 404);
        await Send("POST /api/uploads", HttpMethod.Post, "/api/uploads", 415, new StringContent("x"));
        await Send("DELETE /api/uploads/{name}", HttpMethod.Delete, "/api/uploads/nosuch.png", 404);

        foreach (var (route, status, expected) in observed)
        {
            Assert.True(status == expected, $"{route} answered {status}, expected {expected}");
            Assert.True(documented[route].Contains(status), $"{route} answered {status}, which the OpenAPI document does not list ({string.Join(",", documented[route])})");
        }
        Assert.Equal(Mapped(host).Keys.Order(StringComparer.Ordinal), observed.Select(o => o.Route).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Errors_about_inputs_name_the_body_field_not_the_command_line()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsJsonAsync("/api/runs", new { yaml = Workflows.Sum, inputs = new { a = "abc", aa = 1 } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("--set", text);
        var errors = JsonNode.Parse(text)!["errors"]!.AsArray();
        Assert.Contains(errors, e => e!["input"]!.GetValue<string>() == "a" && e["message"]!.GetValue<string>().StartsWith("inputs.a: 'abc' is not a number", StringComparison.Ordinal));
        Assert.Contains(errors, e => e!["input"]!.GetValue<string>() == "aa" && e["message"]!.GetValue<string>().StartsWith("inputs.aa: the workflow has no input 'aa'; did you mean 'a'?", StringComparison.Ordinal));
    }
}
