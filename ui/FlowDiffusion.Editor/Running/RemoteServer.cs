using System.Net;
using System.Text.Json;
using FlowDiffusion.Client;

namespace FlowDiffusion.Editor.Running;

/// <summary>
/// The FlowDiffusion server an editor started with <c>--server</c> queues its runs on, through the typed client:
/// runs, history, outputs and cancel (<see cref="Client"/>), the live event stream (<see cref="Events"/>) and the
/// server's node types (<see cref="NodeTypesAsync"/>). Its failures become messages naming the server and the HTTP status
/// (<see cref="Describe"/>).
/// </summary>
public sealed class RemoteServer : IDisposable
{
    private static readonly TimeSpan NodeTypesKept = TimeSpan.FromSeconds(30);
    private const int MaxRemembered = 500;
    private readonly HttpClient _http;
    private readonly HttpClient _streams;
    private readonly NodeTypeList _nodeTypes;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _queuedYaml = new(StringComparer.Ordinal);
    private readonly Queue<string> _remembered = new();
    private (DateTime At, IReadOnlyDictionary<string, string> Types)? _types;

    /// <summary>A connection to the server at <paramref name="address"/>.</summary>
    public RemoteServer(Uri address, string? apiKey)
    {
        Address = address;
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        // Event streams last as long as their runs.
        _streams = new HttpClient { BaseAddress = address, Timeout = Timeout.InfiniteTimeSpan };
        var key = string.IsNullOrEmpty(apiKey) ? null : apiKey;
        Client = new FlowDiffusionClient(_http, key);
        Events = new RunEventStream(_streams, key);
        _nodeTypes = new NodeTypeList(_http, key);
    }

    /// <summary>The server's address.</summary>
    public Uri Address { get; }

    /// <summary>The address as messages name it (<c>http://host:port</c>).</summary>
    public string Name => Address.GetLeftPart(UriPartial.Path).TrimEnd('/');

    /// <summary>Runs, history, outputs, cancel and delete.</summary>
    public FlowDiffusionClient Client { get; }

    /// <summary>Runs' live events.</summary>
    public RunEventStream Events { get; }

    /// <summary>The server named by <see cref="EditorOptions.Server"/>, or null when none is set.</summary>
    /// <exception cref="InvalidOperationException">The setting is not an http:// or https:// address.</exception>
    public static RemoteServer? From(EditorOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Server)) return null;
        var text = options.Server.Trim();
        if (!Uri.TryCreate(text, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https") || address.Host.Length == 0)
            throw new InvalidOperationException($"{EditorOptions.Section}:Server (--server) '{text}' is not a server address: give http://HOST:PORT, e.g. http://127.0.0.1:8188.");
        return new RemoteServer(new Uri(address.GetLeftPart(UriPartial.Authority) + "/"), options.ApiKey);
    }

    /// <summary>Keeps the YAML this editor queued as run <paramref name="runId"/> (the API does not serve it back), for the history's Open.</summary>
    public void Remember(string runId, string yaml)
    {
        lock (_gate)
        {
            if (_queuedYaml.TryAdd(runId, yaml)) _remembered.Enqueue(runId);
            while (_remembered.Count > MaxRemembered) _queuedYaml.Remove(_remembered.Dequeue());
        }
    }

    /// <summary>The YAML this editor queued as run <paramref name="runId"/>, or null.</summary>
    public string? QueuedYaml(string runId)
    {
        lock (_gate) return _queuedYaml.GetValueOrDefault(runId);
    }

    /// <summary>The server's node types, id → version (<c>GET /api/nodes</c>), read again when older than 30 s.</summary>
    public async Task<IReadOnlyDictionary<string, string>> NodeTypesAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_types is { } kept && DateTime.UtcNow - kept.At < NodeTypesKept) return kept.Types;
        }
        var list = await _nodeTypes.ListAsync(cancellationToken);
        var types = list.GroupBy(t => t.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Version, StringComparer.Ordinal);
        lock (_gate) _types = (DateTime.UtcNow, types);
        return types;
    }

    /// <summary>What went wrong talking to the server, for the status bar: the server, the HTTP status and the server's words, or why it did not answer.</summary>
    public string Describe(Exception error) => error switch
    {
        FlowDiffusionApiException { Status: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } e =>
            $"{Name} answered {(int)e.Status} {e.Title}: {e.Detail} Start the editor with --api-key KEY (or set {EditorOptions.Section}:ApiKey).",
        FlowDiffusionApiException e => $"{Name} answered {(int)e.Status} {e.Title}: {e.Detail}" + (e.Errors.Count > 0 ? " " + string.Join("; ", e.Errors) : ""),
        HttpRequestException { StatusCode: { } status } e => $"{Name} answered {(int)status}: {e.Message}",
        HttpRequestException e => $"{Name} is not answering ({e.Message}).",
        TaskCanceledException or TimeoutException => $"{Name} did not answer within {_http.Timeout.TotalSeconds:0} s.",
        IOException e => $"the connection to {Name} broke ({e.Message}).",
        JsonException e => $"{Name} sent something that is not the FlowDiffusion API ({e.Message}).",
        _ => $"{Name}: {error.Message}",
    };

    /// <summary>Whether <paramref name="error"/> is one <see cref="Describe"/> explains (the server, the network or its answer), not a bug here.</summary>
    public static bool IsServerError(Exception error) =>
        error is FlowDiffusionApiException or HttpRequestException or TaskCanceledException or TimeoutException or IOException or JsonException;

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _streams.Dispose();
    }
}
