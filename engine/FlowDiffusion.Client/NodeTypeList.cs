using System.Net.Http.Json;
using System.Text.Json;

namespace FlowDiffusion.Client;

/// <summary>The node types a server offers (<c>GET /api/nodes</c>), e.g. to check a graph edited elsewhere against them before running it there.</summary>
/// <param name="http">An HttpClient whose BaseAddress is the server; it is not disposed here.</param>
/// <param name="apiKey">The server's API key, when it has one.</param>
public sealed class NodeTypeList(HttpClient http, string? apiKey = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Every node type of the server's catalog, in its order.</summary>
    public async Task<IReadOnlyList<NodeTypeInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/nodes");
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await ProblemResponse.ReadAsync(response, cancellationToken).ConfigureAwait(false);
        var list = await response.Content.ReadFromJsonAsync<Catalog>(Json, cancellationToken).ConfigureAwait(false);
        return list?.Nodes ?? [];
    }

    private sealed record Catalog(IReadOnlyList<NodeTypeInfo> Nodes);
}
