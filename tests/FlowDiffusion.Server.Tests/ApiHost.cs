using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace FlowDiffusion.Server.Tests;

/// <summary>The real server on a free loopback port, with the test node pack and its folders under <paramref name="root"/>.</summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiHost(WebApplication app, string root)
    {
        _app = app;
        Root = root;
        var address = app.Urls.Single();
        Client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    /// <summary>The host's services (the run backend, say), for tests that play another worker beside its dispatcher.</summary>
    public IServiceProvider Services => _app.Services;

    public string Root { get; }

    public string Outputs => Path.Combine(Root, "outputs");

    public string Workflows => Path.Combine(Root, "workflows");

    public static async Task<ApiHost> StartAsync(string root, params (string Key, string Value)[] settings)
    {
        var config = new Dictionary<string, string?>
        {
            ["FlowDiffusion:PluginFolders:0"] = RepositoryRoot.TestPlugins,
            ["FlowDiffusion:WorkflowsFolder"] = Path.Combine(root, "workflows"),
            ["FlowDiffusion:OutputFolder"] = Path.Combine(root, "outputs"),
            ["FlowDiffusion:DataFolder"] = Path.Combine(root, "data"),
            ["Logging:LogLevel:Default"] = "Warning",
            // Hot reload has its own tests (Plugins.Tests); here a build rewriting the shared test packs mid-run must not reload them.
            ["FlowDiffusion:WatchPlugins"] = "false",
        };
        foreach (var (key, value) in settings) config[key] = value;
        var app = ServerHost.Create(["http://127.0.0.1:0"], config);
        await app.StartAsync();
        return new ApiHost(app, root);
    }

    public async Task<string> SubmitAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runs") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<string>();
    }

    public async Task<JsonNode> RunAsync(string id) => JsonNode.Parse(await Client.GetStringAsync($"/api/runs/{id}"))!;

    /// <summary>Polls until the run's status is one of <paramref name="states"/>.</summary>
    public Task<JsonNode> WaitAsync(string id, params string[] states) => WaitAsync(id, TimeSpan.FromSeconds(30), states);

    /// <summary>Polls until the run's status is one of <paramref name="states"/>, for at most <paramref name="timeout"/>.</summary>
    public async Task<JsonNode> WaitAsync(string id, TimeSpan timeout, params string[] states)
    {
        if (states.Length == 0) states = ["completed", "failed", "cancelled", "interrupted"];
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var run = await RunAsync(id);
            if (states.Contains(run["status"]!.GetValue<string>())) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {id} still {run["status"]} after {timeout.TotalSeconds} s; wanted {string.Join("|", states)}");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
