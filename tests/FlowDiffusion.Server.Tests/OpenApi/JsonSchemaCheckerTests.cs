using System.Text.Json.Nodes;

namespace FlowDiffusion.Server.Tests.OpenApi;

/// <summary>
/// The schema checker the OpenAPI conformance test relies on rejects bodies that break the document's schemas, so that
/// test cannot pass by checking nothing.
/// </summary>
public sealed class JsonSchemaCheckerTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_real_run_conforms_and_each_kind_of_damage_to_it_is_reported_where_it_is()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path);
        var document = JsonNode.Parse(await host.Client.GetStringAsync("/openapi/v1.json"))!;
        var checker = new JsonSchemaChecker(document);
        var schema = document["paths"]!["/api/runs/{id}"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!;
        var run = await host.WaitAsync(await host.SubmitAsync(new { yaml = Workflows.Sum }));
        List<string> Damaged(Action<JsonObject> damage)
        {
            var copy = run.DeepClone().AsObject();
            damage(copy);
            return checker.Check(copy, schema);
        }

        Assert.Empty(checker.Check(run, schema));
        Assert.Equal(["$: required property 'status' is missing"], Damaged(r => r.Remove("status")));
        Assert.Equal(["$.priority: string where the schema wants integer"], Damaged(r => r["priority"] = "high"));
        Assert.Equal(["$.attempts: number where the schema wants integer"], Damaged(r => r["attempts"] = 1.5));
        Assert.Equal(["$.status: \"paused\" is not one of [\"queued\",\"running\",\"completed\",\"failed\",\"cancelled\",\"interrupted\"]"], Damaged(r => r["status"] = "paused"));
        Assert.Equal(["$: property 'owner' is not in the schema"], Damaged(r => r["owner"] = "me"));
        Assert.Equal(["$.id: null where the schema wants string"], Damaged(r => r["id"] = null));
        Assert.Empty(Damaged(r => r["error"] = null));
        Assert.Equal(["$.error: number where the schema wants null or string"], Damaged(r => r["error"] = 1.5));
        Assert.Equal(["$.outputs[0].url: integer where the schema wants string"], Damaged(r => r["outputs"]![0]!["url"] = 5));
        Assert.Equal(["$.nodes[1]: required property 'cached' is missing"], Damaged(r => r["nodes"]![1]!.AsObject().Remove("cached")));
        Assert.Equal(["$.outputs: object where the schema wants array"], Damaged(r => r["outputs"] = new JsonObject()));
    }

    [Fact]
    public void A_schema_keyword_outside_the_checked_subset_fails_instead_of_passing_unchecked()
    {
        var document = JsonNode.Parse("""{ "components": { "schemas": { "A": { "type": "object", "oneOf": [] } } } }""")!;

        var error = Assert.Throws<NotSupportedException>(() => new JsonSchemaChecker(document).Check(new JsonObject(), JsonNode.Parse("""{ "$ref": "#/components/schemas/A" }""")!));

        Assert.Contains("'oneOf'", error.Message, StringComparison.Ordinal);
    }
}
