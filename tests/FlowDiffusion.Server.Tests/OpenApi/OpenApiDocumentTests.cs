using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Server.Api;
using FlowDiffusion.Server.Runs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

using FlowDiffusion.Server.Tests.OpenApi;

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

    // What the server's own checks answer before a route runs, written out here independently of the server's ApiRefusals:
    // without a key a foreign Host is 421, with one a missing key is 401 (all but the health check); a cross-origin write is 403.
    private static SortedSet<int> Refusals(string route, bool keyed)
    {
        var statuses = new SortedSet<int>();
        if (!keyed) statuses.Add(421);
        else if (route != "GET /api/health") statuses.Add(401);
        if (!route.StartsWith("GET ", StringComparison.Ordinal)) statuses.Add(403);
        return statuses;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_mapped_route_is_documented_with_the_statuses_it_declares_and_those_of_the_servers_checks(bool keyed)
    {
        await using var host = keyed
            ? await ApiHost.StartAsync(_folder.Path, ($"{ServerOptions.Section}:ApiKey", "s3cret"))
            : await ApiHost.StartAsync(_folder.Path);
        if (keyed) host.Client.DefaultRequestHeaders.Add("X-Api-Key", "s3cret");

        var documented = await DocumentedAsync(host);
        var mapped = Mapped(host);

        Assert.Equal(15, mapped.Count);
        foreach (var (route, statuses) in mapped)
        {
            Assert.True(documented.TryGetValue(route, out var inDocument), $"{route} is mapped but not in the OpenAPI document");
            var expected = new SortedSet<int>(statuses.Concat(Refusals(route, keyed)));
            Assert.True(expected.SetEquals(inDocument!), $"{route}: declares {string.Join(",", expected)} with the checks', the document says {string.Join(",", inDocument!)}");
        }
        Assert.Equal(keyed ? [202, 400, 401, 403, 404, 413, 415, 503] : new[] { 202, 400, 403, 404, 413, 415, 421, 503 }, documented["POST /api/runs"]);
        Assert.Equal(keyed ? [202, 401, 403, 404, 409, 503] : new[] { 202, 403, 404, 409, 421, 503 }, documented["POST /api/runs/{id}/cancel"]);
        Assert.Equal(keyed ? [200, 503] : new[] { 200, 421, 503 }, documented["GET /api/health"]);
    }

    [Fact]
    public async Task A_server_with_an_api_key_documents_the_X_Api_Key_scheme_on_every_route_but_health_and_one_without_does_not()
    {
        await using (var open = await ApiHost.StartAsync(Path.Combine(_folder.Path, "open")))
        {
            var document = JsonNode.Parse(await open.Client.GetStringAsync("/openapi/v1.json"))!;
            Assert.Null(document["components"]!["securitySchemes"]);
            Assert.DoesNotContain("\"security\"", document.ToJsonString());
        }
        await using var keyed = await ApiHost.StartAsync(Path.Combine(_folder.Path, "keyed"), ($"{ServerOptions.Section}:ApiKey", "s3cret"));
        keyed.Client.DefaultRequestHeaders.Add("X-Api-Key", "s3cret");
        var keyedDocument = JsonNode.Parse(await keyed.Client.GetStringAsync("/openapi/v1.json"))!;

        var scheme = keyedDocument["components"]!["securitySchemes"]!["ApiKey"]!;
        Assert.Equal(("apiKey", "header", "X-Api-Key"), (scheme["type"]!.GetValue<string>(), scheme["in"]!.GetValue<string>(), scheme["name"]!.GetValue<string>()));
        foreach (var (path, item) in keyedDocument["paths"]!.AsObject())
        foreach (var (method, operation) in item!.AsObject())
        {
            var security = operation!["security"]?.AsArray();
            if (path == "/api/health") Assert.True(security is null || security.Count == 0, $"{method} {path} should need no key");
            else Assert.True(security is [{ } requirement] && requirement.AsObject().ContainsKey("ApiKey"), $"{method} {path}: security {security?.ToJsonString()}");
        }
    }

    // Every answer: its status is one the document lists for the route, and a JSON body (success or problem) is one the
    // document gives a schema for, at that status and content type, and conforms to that schema.
    [Fact]
    public async Task Every_answer_of_every_route_is_documented_and_its_json_body_matches_the_documented_schema()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path,
            ($"{ServerOptions.Section}:MaxUploadBytes", "4096"), ($"{ServerOptions.Section}:MaxEventStreamsPerClient", "1"),
            ($"{ServerOptions.Section}:MaxRequestBytes", "16384"));
        // The same API with a key: every route but the health check refuses a request without it.
        await using var keyed = await ApiHost.StartAsync(Path.Combine(_folder.Path, "keyed"), ($"{ServerOptions.Section}:ApiKey", "s3cret"));
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var checker = new JsonSchemaChecker(document);
        var documented = await DocumentedAsync(host);
        var observed = new List<(string Route, int Status, int Expected)>();
        var failures = new List<string>();
        var validated = 0;
        async Task<HttpResponseMessage> Send(string route, HttpMethod method, string url, int expected, HttpContent? content = null, Action<HttpRequestMessage>? configure = null,
            ApiHost? target = null)
        {
            var request = new HttpRequestMessage(method, url) { Content = content };
            configure?.Invoke(request);
            var response = await (target ?? host).Client.SendAsync(request,
                route.EndsWith("/events", StringComparison.Ordinal) ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead);
            var status = (int)response.StatusCode;
            observed.Add((route, status, expected));
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (mediaType is "application/json" or "application/problem+json")
            {
                var (method_, path) = (route[..route.IndexOf(' ')].ToLowerInvariant(), route[(route.IndexOf(' ') + 1)..]);
                var schema = document["paths"]?[path]?[method_]?["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)]?["content"]?[mediaType]?["schema"];
                if (schema is null) failures.Add($"{route} answered {status} with {mediaType}, for which the document gives no schema");
                else
                {
                    failures.AddRange(checker.Check(JsonNode.Parse(await response.Content.ReadAsStringAsync()), schema).Select(e => $"{route} {status}: {e}"));
                    validated++;
                }
            }
            return response;
        }

        var yaml = new StringContent(Workflows.Sum, Encoding.UTF8, "application/yaml");
        await Send("GET /api/health", HttpMethod.Get, "/api/health", 200);
        await Send("GET /api/nodes", HttpMethod.Get, "/api/nodes", 200);
        await Send("GET /api/models", HttpMethod.Get, "/api/models", 200);
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/sum", 200, yaml);
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/draft?draft=true", 200, new StringContent("flowdiffusion: 1\nnodes:\n  x: { node: test.nosuch }\n", Encoding.UTF8, "application/yaml"));
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/bad", 400, new StringContent("flowdiffusion: 1\nnodes:\n  x: { node: test.nosuch }\n", Encoding.UTF8, "application/yaml"));
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/a%20b", 400, new StringContent(Workflows.Sum, Encoding.UTF8, "application/yaml"));
        await Send("GET /api/workflows", HttpMethod.Get, "/api/workflows", 200);
        await Send("GET /api/workflows/{name}", HttpMethod.Get, "/api/workflows/sum", 200);
        await Send("GET /api/workflows/{name}", HttpMethod.Get, "/api/workflows/nosuch", 404);
        await Send("GET /api/workflows/{name}", HttpMethod.Get, "/api/workflows/a%20b", 400);
        var submitted = await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 202, JsonContent.Create(new { workflow = "sum", inputs = new { a = 1.5 }, priority = 2 }));
        var id = JsonNode.Parse(await submitted.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 400, JsonContent.Create(new { workflow = "sum", inputs = new { nosuch = 1 } }));
        await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 400, JsonContent.Create(new { }));
        await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 404, JsonContent.Create(new { workflow = "nosuch" }));
        var run = await host.WaitAsync(id);
        await Send("GET /api/runs", HttpMethod.Get, "/api/runs", 200);
        await Send("GET /api/runs", HttpMethod.Get, "/api/runs?status=completed&offset=0&limit=1", 200);
        await Send("GET /api/runs", HttpMethod.Get, "/api/runs?status=bogus", 400);
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

        // A running run: its event stream held open takes this client's one stream (a second is refused), it cannot be
        // deleted, and it can be cancelled.
        var slow = await host.SubmitAsync(new { yaml = Workflows.Slow(20_000) });
        await host.WaitAsync(slow, "running");
        using (var stream = await Send("GET /api/runs/{id}/events", HttpMethod.Get, $"/api/runs/{slow}/events", 200))
        {
            (await Send("GET /api/runs/{id}/events", HttpMethod.Get, $"/api/runs/{slow}/events", 429)).Dispose();
        }
        await Send("DELETE /api/runs/{id}", HttpMethod.Delete, $"/api/runs/{slow}", 409);
        await Send("POST /api/runs/{id}/cancel", HttpMethod.Post, $"/api/runs/{slow}/cancel", 202);
        await host.WaitAsync(slow);

        var image = new MultipartFormDataContent { { new ByteArrayContent(Images.Solid(SkiaSharp.SKColors.Red)), "file", "red.png" } };
        var uploaded = await Send("POST /api/uploads", HttpMethod.Post, "/api/uploads", 200, image);
        var file = JsonNode.Parse(await uploaded.Content.ReadAsStringAsync())!["file"]!.GetValue<string>();
        await Send("POST /api/uploads", HttpMethod.Post, "/api/uploads", 415, new StringContent("x"));
        await Send("POST /api/uploads", HttpMethod.Post, "/api/uploads", 415, new MultipartFormDataContent { { new ByteArrayContent("not an image"u8.ToArray()), "file", "x.png" } });
        await Send("POST /api/uploads", HttpMethod.Post, "/api/uploads", 400, new MultipartFormDataContent { { new StringContent("no file"), "note" } });
        await Send("POST /api/uploads", HttpMethod.Post, "/api/uploads", 413, new MultipartFormDataContent { { new ByteArrayContent(Images.Noise(64, 1)), "file", "noise.png" } });
        await Send("DELETE /api/uploads/{name}", HttpMethod.Delete, $"/api/uploads/{Path.GetFileName(file)}", 204);
        await Send("DELETE /api/uploads/{name}", HttpMethod.Delete, "/api/uploads/nosuch.png", 404);

        // Bodies too large for MaxRequestBytes, and a run not sent as JSON.
        var large = new string('#', 32 << 10);
        await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 413, JsonContent.Create(new { yaml = Workflows.Sum + "\n# " + large }));
        await Send("POST /api/runs", HttpMethod.Post, "/api/runs", 415, new StringContent("{\"workflow\": \"sum\"}", Encoding.UTF8, "text/plain"));
        await Send("PUT /api/workflows/{name}", HttpMethod.Put, "/api/workflows/big", 413, new StringContent(Workflows.Sum + "\n# " + large, Encoding.UTF8, "application/yaml"));

        // The server's own checks, on every mapped route: a foreign Host name, a cross-origin write, and (on the keyed
        // server) a missing key. They answer before the route runs, so a sample URL of each route will do.
        using var keyedAnswer = await keyed.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json") { Headers = { { "X-Api-Key", "s3cret" } } });
        var keyedDocument = JsonNode.Parse(await keyedAnswer.Content.ReadAsStringAsync())!;
        var keyedDocumented = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        foreach (var (path, item) in keyedDocument["paths"]!.AsObject())
        foreach (var (method, operation) in item!.AsObject())
            keyedDocumented[$"{method.ToUpperInvariant()} {path}"] = [.. operation!["responses"]!.AsObject().Select(r => int.Parse(r.Key, System.Globalization.CultureInfo.InvariantCulture))];
        var keyedObserved = new List<(string Route, int Status)>();
        foreach (var route in Mapped(host).Keys)
        {
            var method = new HttpMethod(route[..route.IndexOf(' ')]);
            var url = route[(route.IndexOf(' ') + 1)..].Replace("{id}", "nosuch", StringComparison.Ordinal).Replace("{runId}", "nosuch", StringComparison.Ordinal)
                .Replace("{file}", "x.png", StringComparison.Ordinal).Replace("{name}", "sum", StringComparison.Ordinal);
            await Send(route, method, url, 421, configure: r => r.Headers.Host = "rebound.example");
            if (method != HttpMethod.Get)
                await Send(route, method, url, 403, configure: r => r.Headers.Add("Origin", "http://evil.example"));
            using var unkeyed = await keyed.Client.SendAsync(new HttpRequestMessage(method, url), HttpCompletionOption.ResponseHeadersRead);
            keyedObserved.Add((route, (int)unkeyed.StatusCode));
            if (unkeyed.StatusCode == HttpStatusCode.Unauthorized)
            {
                var schema = keyedDocument["paths"]?[route[(route.IndexOf(' ') + 1)..]]?[route[..route.IndexOf(' ')].ToLowerInvariant()]?["responses"]?["401"]?["content"]?["application/problem+json"]?["schema"];
                Assert.True(schema is not null, $"{route} answered 401 without a key, which the keyed server's document does not list");
                Assert.Empty(checker.Check(JsonNode.Parse(await unkeyed.Content.ReadAsStringAsync()), schema!));
            }
        }
        foreach (var (route, status) in keyedObserved)
        {
            Assert.True(status == (route == "GET /api/health" ? 200 : 401), $"{route} without the key answered {status}");
            Assert.True(keyedDocumented[route].Contains(status), $"{route} answered {status} on the keyed server, which its document does not list ({string.Join(",", keyedDocumented[route])})");
            Assert.DoesNotContain(421, keyedDocumented[route]);
            Assert.Equal(status == 401, keyedDocumented[route].Contains(401));
        }

        foreach (var (route, status, expected) in observed)
        {
            Assert.True(status == expected, $"{route} answered {status}, expected {expected}");
            Assert.True(documented[route].Contains(status), $"{route} answered {status}, which the OpenAPI document does not list ({string.Join(",", documented[route])})");
        }
        Assert.Empty(failures);
        Assert.True(validated >= 30, $"only {validated} JSON bodies were checked against their schema");
        Assert.Equal(Mapped(host).Keys.Order(StringComparer.Ordinal), observed.Select(o => o.Route).Distinct().Order(StringComparer.Ordinal));
        // Every documented status of every route was answered and checked, but 503 (a damaged run store: the next test).
        var unanswered = documented.Where(d => Mapped(host).ContainsKey(d.Key)).SelectMany(d => d.Value.Select(s => $"{d.Key} {s}"))
            .Except(observed.Select(o => $"{o.Route} {o.Status}")).ToList();
        Assert.All(unanswered, u => Assert.EndsWith(" 503", u, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_damaged_run_store_answers_503_where_documented_with_a_body_of_the_documented_schema()
    {
        var database = Path.Combine(_folder.Path, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile);
        Directory.CreateDirectory(Path.GetDirectoryName(database)!);
        var store = new SqliteRunStore(database);
        for (var i = 0; i < 40; i++) await store.AddAsync(new RunSubmission(Workflows.Sum, $"{{\"a\":{i},\"note\":\"{new string('n', 2000)}\"}}"), default);
        RunStoreHardeningTests.DamagePagesAfterTheFirst(database);
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var checker = new JsonSchemaChecker(document);
        var documented = await DocumentedAsync(host);

        var requests = new (string Route, HttpMethod Method, string Url, HttpContent? Body)[]
        {
            ("GET /api/health", HttpMethod.Get, "/api/health", null),
            ("POST /api/runs", HttpMethod.Post, "/api/runs", JsonContent.Create(new { yaml = Workflows.Sum })),
            ("GET /api/runs", HttpMethod.Get, "/api/runs", null),
        };
        foreach (var (route, method, url, body) in requests)
        {
            using var response = await host.Client.SendAsync(new HttpRequestMessage(method, url) { Content = body });
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{route}: {(int)response.StatusCode} {text}");
            Assert.Contains(503, documented[route]);
            var (lower, path) = (route[..route.IndexOf(' ')].ToLowerInvariant(), route[(route.IndexOf(' ') + 1)..]);
            var schema = document["paths"]![path]![lower]!["responses"]!["503"]!["content"]![response.Content.Headers.ContentType!.MediaType!]!["schema"]!;
            Assert.Empty(checker.Check(JsonNode.Parse(text), schema));
        }
    }

    [Fact]
    public async Task Request_bodies_require_only_what_the_server_requires_and_every_json_answer_has_a_schema()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var schemas = document["components"]!["schemas"]!;

        Assert.Empty(schemas["RunRequest"]!["required"]?.AsArray() ?? []);
        Assert.Equal(["file"], schemas["UploadForm"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(["queued", "running", "completed", "failed", "cancelled", "interrupted"], schemas["Run"]!["properties"]!["status"]!["enum"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Equal(["null", "string"], schemas["Run"]!["properties"]!["error"]!["type"]!.AsArray().Select(e => e!.GetValue<string>()).Order());
        foreach (var route in Mapped(host).Keys)
        {
            var (method, path) = (route[..route.IndexOf(' ')].ToLowerInvariant(), route[(route.IndexOf(' ') + 1)..]);
            var operation = document["paths"]![path]![method]!;
            Assert.False(string.IsNullOrEmpty(operation["operationId"]?.GetValue<string>()), $"{route} has no operationId");
            foreach (var (status, response) in operation["responses"]!.AsObject())
            foreach (var (type, media) in response!["content"]?.AsObject() ?? [])
                Assert.True(media?["schema"] is not null, $"{route} {status} {type} has no schema");
            if (status204(operation) is { } bodiless) Assert.Null(operation["responses"]![bodiless]!["content"]);
            foreach (var (type, media) in operation["requestBody"]?["content"]?.AsObject() ?? [])
                Assert.True(media?["schema"]?["$ref"] is not null, $"{route}'s {type} request body has no schema");
        }

        static string? status204(JsonNode operation) => operation["responses"]!.AsObject().Any(r => r.Key == "204") ? "204" : null;
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
