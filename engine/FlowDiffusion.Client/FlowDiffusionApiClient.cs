using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Client.Generated;

/// <summary>
/// The hand-written half of the generated client (Generated/FlowDiffusionApiClient.g.cs holds a method per operation):
/// sends a request with the API key, and turns an error answer into a <see cref="FlowDiffusionApiException"/>.
/// </summary>
/// <param name="http">An HttpClient whose BaseAddress is the server (e.g. http://127.0.0.1:8188); it is not disposed here.</param>
/// <param name="apiKey">The server's API key, when it has one (sent as X-Api-Key).</param>
public sealed partial class FlowDiffusionApiClient(HttpClient http, string? apiKey = null)
{
    /// <summary>How bodies are read and written: the API's JSON (names come from each record's attributes).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>GET of a URL the server gave (an output's url, say), as bytes.</summary>
    public async Task<byte[]> GetBytesAsync(string url, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        var response = await http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
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
            throw new FlowDiffusionApiException(response.StatusCode, problem?["title"]?.GetValue<string>() ?? response.ReasonPhrase,
                problem?["detail"]?.GetValue<string>() ?? problem?["error"]?.GetValue<string>() ?? text, errors);
        }
    }

    private static async Task<T> ReadJsonAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
        ?? throw new JsonException($"{response.RequestMessage?.RequestUri} answered null where a {typeof(T).Name} was expected");

    private static JsonContent JsonBody<T>(T body) => JsonContent.Create(body, options: Json);

    // A path parameter, escaped segment by segment ('/' separates the segments of an output's file path).
    private static string PathValue(string value) => string.Join('/', value.Split('/').Select(Uri.EscapeDataString));

    private static string? Text(object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => p.Value is not null).Select(p => Uri.EscapeDataString(p.Name) + "=" + Uri.EscapeDataString(p.Value!)).ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }
}
