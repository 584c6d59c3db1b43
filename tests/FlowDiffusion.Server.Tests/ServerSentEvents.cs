using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

/// <summary>A minimal SSE reader: collects every event until the server closes the stream.</summary>
internal static class ServerSentEvents
{
    public sealed record Event(string Kind, JsonNode Data);

    /// <summary>Reads every event; <paramref name="afterFirst"/> runs once the first has arrived (the subscription is then in place).</summary>
    public static async Task<List<Event>> ReadAllAsync(HttpClient client, string url, Func<Task>? afterFirst = null)
    {
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<Event>();
        string? kind = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add(new Event(kind!, JsonNode.Parse(line["data: ".Length..])!));
                if (events.Count == 1 && afterFirst is not null) await afterFirst();
            }
        }
        return events;
    }
}
