using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace FlowDiffusion.Client;

/// <summary>
/// A run's live events as the server pushes them (<c>GET /api/runs/{id}/events</c>, server-sent events): first
/// <c>run_state</c> (the run as it stands), then live messages, last <c>run_ended</c>. Errors answered before the stream
/// starts throw <see cref="FlowDiffusionApiException"/>; a connection lost midway ends the enumeration with the
/// <see cref="HttpRequestException"/> or <see cref="IOException"/>, so a caller can subscribe again (it gets the state again).
/// </summary>
/// <param name="http">An HttpClient whose BaseAddress is the server; it is not disposed here. Its Timeout bounds the whole stream, so use one without (<see cref="Timeout.InfiniteTimeSpan"/>).</param>
/// <param name="apiKey">The server's API key, when it has one.</param>
public sealed class RunEventStream(HttpClient http, string? apiKey = null)
{
    /// <summary>The events of run <paramref name="id"/> until its <c>run_ended</c> or until the server closes the stream.</summary>
    public async IAsyncEnumerable<RunEventMessage> SubscribeAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runs/{Uri.EscapeDataString(id)}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await ProblemResponse.ReadAsync(response, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), Encoding.UTF8);
        string? kind = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                // A blank line ends an event (SSE): its data lines joined by newlines.
                if (data.Length > 0)
                {
                    using var document = JsonDocument.Parse(data.ToString());
                    var message = new RunEventMessage(kind ?? "message", document.RootElement.Clone());
                    data.Clear();
                    kind = null;
                    yield return message;
                    if (message.Kind == RunEventMessage.EndedKind) yield break;
                }
                continue;
            }
            if (line.StartsWith("event:", StringComparison.Ordinal)) kind = line["event:".Length..].Trim();
            else if (line.StartsWith("data:", StringComparison.Ordinal)) data.Append(data.Length > 0 ? "\n" : "").Append(line["data:".Length..].TrimStart(' '));
        }
    }
}
