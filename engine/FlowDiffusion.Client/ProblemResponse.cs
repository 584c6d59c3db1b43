using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Client;

// The error of a response that is not a success, as FlowDiffusionClient reports it, for the calls beside it.
internal static class ProblemResponse
{
    public static async Task<FlowDiffusionApiException> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
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
        var title = problem is JsonObject ? problem["title"]?.GetValue<string>() : null;
        var detail = problem is JsonObject ? problem["detail"]?.GetValue<string>() : null;
        return new FlowDiffusionApiException(response.StatusCode, title ?? response.ReasonPhrase, detail ?? text, []);
    }
}
