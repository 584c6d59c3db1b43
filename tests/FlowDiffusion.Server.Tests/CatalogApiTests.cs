using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

public sealed class CatalogApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Nodes_serves_the_schema_of_the_loaded_packs()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var schema = JsonNode.Parse(await host.Client.GetStringAsync("/api/nodes"))!;

        var add = Assert.Single(schema["nodes"]!.AsArray(), n => n!["id"]!.GetValue<string>() == "test.add")!;
        Assert.Equal(["a", "b"], add["inputs"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Saved_workflow_round_trips_and_runs_by_name_with_inputs()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using (var put = await host.Client.PutAsync("/api/workflows/sum", new StringContent(Workflows.Sum, Encoding.UTF8, "application/yaml")))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var list = JsonNode.Parse(await host.Client.GetStringAsync("/api/workflows"))!;
        Assert.Equal(["sum"], list["workflows"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(Workflows.Sum, await host.Client.GetStringAsync("/api/workflows/sum"));

        var id = await host.SubmitAsync(new { workflow = "sum", inputs = new { a = -1 } });
        var run = await host.WaitAsync(id);

        Assert.Equal("sum", run["workflow"]!.GetValue<string>());
        Assert.Equal("2", await host.Client.GetStringAsync(run["outputs"]![0]!["url"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Unreadable_yaml_is_not_saved()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var put = await host.Client.PutAsync("/api/workflows/broken", new StringContent("nodes: { a: [", Encoding.UTF8, "application/yaml"));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.False(File.Exists(Path.Combine(host.Workflows, "broken.yaml")));
    }

    [Fact]
    public async Task Unknown_saved_workflow_is_a_404()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        using var response = await host.Client.PostAsync("/api/runs", new StringContent("{\"workflow\":\"missing\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task OpenApi_document_describes_the_run_endpoints()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);

        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;

        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("/api/runs", paths);
        Assert.Contains("/api/runs/{id}/events", paths);
        Assert.Contains("/api/outputs/{runId}/{file}", paths);
    }
}
