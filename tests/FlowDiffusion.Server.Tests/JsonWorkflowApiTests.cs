using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests;

/// <summary>A workflow written as JSON binds its inputs through the API as YAML does: "$name" and { "$input": name }.</summary>
public sealed class JsonWorkflowApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Json_workflow_binds_dollar_name_and_the_explicit_form_to_the_values_the_request_sets()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        const string json = """
            {
              "flowdiffusion": 1,
              "name": "sum-json",
              "inputs": { "a": { "type": "float", "default": 2 }, "b": { "type": "float", "default": 3 } },
              "nodes": {
                "first": { "node": "test.number", "with": { "value": "$a" } },
                "second": { "node": "test.number", "with": { "value": { "$input": "b" } } },
                "add": { "node": "test.add", "in": { "a": "first.result", "b": "second.result" } },
                "sink": { "node": "test.sink", "in": { "value": "add.sum" } }
              }
            }
            """;

        var id = await host.SubmitAsync(new { yaml = json, inputs = new { a = 4.5, b = 10 } });
        JsonNode run = await host.WaitAsync(id);

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        var output = Assert.Single(run["outputs"]!.AsArray());
        // 4.5 + 10: both bindings took the request's values, neither the defaults (5) nor the text "$a" (an error).
        Assert.Equal("14.5", await host.Client.GetStringAsync(output!["url"]!.GetValue<string>()));

        var defaults = await host.WaitAsync(await host.SubmitAsync(new { yaml = json }));
        Assert.Equal("5", await host.Client.GetStringAsync(Assert.Single(defaults["outputs"]!.AsArray())!["url"]!.GetValue<string>()));
    }
}
