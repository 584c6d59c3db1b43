using System.Net;
using System.Text.Json.Nodes;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>
/// <c>/api/health</c> answers without the API key, so with a key configured it tells such a request the states only:
/// the reasons name the server's files (the database, the workflows folder), which only a request with the key sees.
/// </summary>
public sealed class HealthReasonsTests : IDisposable
{
    private const string Key = "s3cret";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_damaged_store_is_reported_to_anyone_and_its_path_only_to_a_request_with_the_key()
    {
        var database = Path.Combine(_folder.Path, "data", FlowDiffusionServerServiceCollectionExtensions.DatabaseFile);
        var store = new SqliteRunStore(database);
        for (var i = 0; i < 40; i++) await store.AddAsync(new RunSubmission(Workflows.Sum, $"{{\"a\":{i},\"note\":\"{new string('n', 2000)}\"}}"), default);
        RunStoreHardeningTests.DamagePagesAfterTheFirst(database);
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:ApiKey", Key));

        var (anonymousStatus, anonymous) = await HealthAsync(host, key: null);
        var (keyedStatus, keyed) = await HealthAsync(host, Key);
        var (wrongStatus, wrong) = await HealthAsync(host, "s3cres");

        Assert.Equal((HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable, HttpStatusCode.ServiceUnavailable), (anonymousStatus, keyedStatus, wrongStatus));
        foreach (var health in new[] { anonymous, wrong })
        {
            Assert.Equal(("unhealthy", "damaged"), (health["status"]!.GetValue<string>(), health["store"]!.GetValue<string>()));
            Assert.False(health.AsObject().ContainsKey("error"), health.ToJsonString());
            Assert.DoesNotContain(_folder.Path, health.ToJsonString(), StringComparison.Ordinal);
        }
        Assert.Contains(database, keyed["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_warm_up_is_reported_to_anyone_and_its_reason_only_to_a_request_with_the_key()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:ApiKey", Key), ("FlowDiffusion:Server:WarmUp", "no-such-workflow"));

        var (_, anonymous) = await HealthAsync(host, key: null);
        for (var deadline = DateTime.UtcNow.AddSeconds(30); anonymous["warm_up"]!["state"]!.GetValue<string>() is "waiting" or "running" && DateTime.UtcNow < deadline; await Task.Delay(50))
            (_, anonymous) = await HealthAsync(host, key: null);
        var (_, keyed) = await HealthAsync(host, Key);

        Assert.Equal(("ok", "failed"), (anonymous["status"]!.GetValue<string>(), anonymous["warm_up"]!["state"]!.GetValue<string>()));
        Assert.Equal("no-such-workflow", anonymous["warm_up"]!["workflow"]!.GetValue<string>());
        Assert.False(anonymous["warm_up"]!.AsObject().ContainsKey("error"), anonymous.ToJsonString());
        Assert.DoesNotContain(_folder.Path, anonymous.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("failed", keyed["warm_up"]!["state"]!.GetValue<string>());
        Assert.Contains(host.Workflows, keyed["warm_up"]!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, JsonNode Health)> HealthAsync(ApiHost host, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/health");
        if (key is not null) request.Headers.Add("X-Api-Key", key);
        using var response = await host.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}
