using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Client;

/// <summary>
/// The FlowDiffusion HTTP API, typed: submit a run (a saved workflow by name, or YAML, with named inputs), follow it,
/// fetch its outputs, page the history, cancel and delete, list the models. Errors throw <see cref="FlowDiffusionApiException"/>.
/// </summary>
/// <param name="http">An HttpClient whose BaseAddress is the server (e.g. http://127.0.0.1:8188); it is not disposed here.</param>
/// <param name="apiKey">The server's API key, when it has one.</param>
public sealed class FlowDiffusionClient(HttpClient http, string? apiKey = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Queues a saved workflow by name with <paramref name="inputs"/>; returns the run's id.</summary>
    public Task<string> SubmitWorkflowAsync(string workflow, object? inputs = null, int? priority = null, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(new { workflow, inputs, priority }, idempotencyKey, cancellationToken);

    /// <summary>Queues workflow YAML with <paramref name="inputs"/>; returns the run's id.</summary>
    public Task<string> SubmitYamlAsync(string yaml, object? inputs = null, int? priority = null, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        SubmitAsync(new { yaml, inputs, priority }, idempotencyKey, cancellationToken);

    /// <summary>The run <paramref name="id"/>.</summary>
    public async Task<RunInfo> GetRunAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/api/runs/{Uri.EscapeDataString(id)}", null, null, cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync<RunInfo>(Json, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Polls the run every <paramref name="interval"/> (default 100 ms) until it has ended.</summary>
    public async Task<RunInfo> WaitAsync(string id, TimeSpan? interval = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var run = await GetRunAsync(id, cancellationToken).ConfigureAwait(false);
            if (run.IsFinal) return run;
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One page of history, newest first, optionally only runs in <paramref name="status"/>.</summary>
    public async Task<RunPage> ListRunsAsync(int offset = 0, int? limit = null, string? status = null, CancellationToken cancellationToken = default)
    {
        var query = $"?offset={offset}" + (limit is { } l ? $"&limit={l}" : "") + (status is null ? "" : $"&status={Uri.EscapeDataString(status)}");
        using var response = await SendAsync(HttpMethod.Get, "/api/runs" + query, null, null, cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync<RunPage>(Json, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>What the server's models folder holds (<c>GET /api/models</c>), ordered by path.</summary>
    public async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "/api/models", null, null, cancellationToken).ConfigureAwait(false);
        var list = await response.Content.ReadFromJsonAsync<ModelList>(Json, cancellationToken).ConfigureAwait(false);
        return list?.Models ?? [];
    }

    /// <summary>The bytes of <paramref name="output"/>.</summary>
    public async Task<byte[]> GetOutputAsync(RunOutput output, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, output.Url, null, null, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks the run to stop (a queued run never starts).</summary>
    public async Task CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/api/runs/{Uri.EscapeDataString(id)}/cancel", null, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a finished run and its files.</summary>
    public async Task DeleteRunAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"/api/runs/{Uri.EscapeDataString(id)}", null, null, cancellationToken).ConfigureAwait(false);
    }

    private sealed record ModelList(IReadOnlyList<ModelInfo> Models);

    private async Task<string> SubmitAsync(object body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/runs", JsonContent.Create(body, options: Json), idempotencyKey, cancellationToken).ConfigureAwait(false);
        var ticket = await response.Content.ReadFromJsonAsync<JsonObject>(Json, cancellationToken).ConfigureAwait(false);
        return ticket!["id"]!.GetValue<string>();
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonNode? problem = null;
            try
            {
                problem = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
            }

            var errors = problem?["errors"] is JsonArray list ? list.Select(e => e?["message"]?.GetValue<string>() ?? "").ToList() : [];
            throw new FlowDiffusionApiException(response.StatusCode, problem?["title"]?.GetValue<string>() ?? response.ReasonPhrase, problem?["detail"]?.GetValue<string>() ?? text, errors);
        }
    }
}
