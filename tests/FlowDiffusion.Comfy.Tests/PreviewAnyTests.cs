using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's PreviewAny: the text of a value settled at conversion is the node's UI output, <c>{"text": [value]}</c>, in
/// /history and in the websocket's executed message, as ComfyUI's <c>ui.text</c>; strings show as they are, INT, FLOAT and
/// BOOLEAN as Python's str writes them (the expected texts are CPython's); a value that exists only at run time is a node
/// error naming source.
/// </summary>
public sealed class PreviewAnyTests
{
    private static readonly ComfyFolders Folders = new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    [Fact]
    public async Task The_text_is_the_nodes_ui_output_in_history_and_the_executed_message()
    {
        await using var host = await ComfyHost.StartAsync();
        await using var socket = await SocketClient.ConnectAsync(host.Address, "preview-any");
        var (status, body) = await host.PostPromptAsync(new JsonObject
        {
            ["1"] = Node("StringConcatenate", new JsonObject { ["string_a"] = "a red ", ["string_b"] = "circle", ["delimiter"] = "" }),
            ["2"] = Node("PreviewAny", new JsonObject { ["source"] = Link("1", 0) }),
        }, "preview-any");
        Assert.True(status == 200, body.ToJsonString());
        var id = body["prompt_id"]!.GetValue<string>();
        await socket.UntilDoneAsync(id, TimeSpan.FromSeconds(60));

        var history = await host.HistoryAsync(id);
        Assert.Equal("success", history["status"]!["status_str"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["text"] = new JsonArray("a red circle") }, history["outputs"]!["2"]), history["outputs"]!.ToJsonString());
        var executed = Assert.Single(socket.Messages, m => m["type"]!.GetValue<string>() == "executed" && m["data"]!["prompt_id"]!.GetValue<string>() == id);
        Assert.Equal("2", executed["data"]!["node"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(history["outputs"]!["2"], executed["data"]!["output"]));
    }

    [Theory]
    [InlineData("PrimitiveInt", "42", "42")]
    [InlineData("PrimitiveFloat", "0.1", "0.1")]
    [InlineData("PrimitiveFloat", "1", "1.0")]
    [InlineData("PrimitiveFloat", "100", "100.0")]
    [InlineData("PrimitiveFloat", "-3.75", "-3.75")]
    [InlineData("PrimitiveFloat", "0.00001", "1e-05")]
    [InlineData("PrimitiveFloat", "0.0001", "0.0001")]
    [InlineData("PrimitiveFloat", "0.00000025", "2.5e-07")]
    [InlineData("PrimitiveFloat", "123456.789", "123456.789")]
    [InlineData("PrimitiveFloat", "1e15", "1000000000000000.0")]
    [InlineData("PrimitiveBoolean", "true", "True")]
    [InlineData("PrimitiveBoolean", "false", "False")]
    [InlineData("PrimitiveString", "\"two\\nlines\"", "two\nlines")]
    public void Values_show_as_pythons_str_writes_them(string primitive, string json, string text)
    {
        var conversion = ApiPromptConverter.Convert(new JsonObject
        {
            ["1"] = Node(primitive, new JsonObject { ["value"] = JsonNode.Parse(json) }),
            ["2"] = Node("PreviewAny", new JsonObject { ["source"] = Link("1", 0) }),
        }, Folders);

        Assert.Empty(conversion.NodeErrors);
        Assert.Equal(text, conversion.TextOutputs["2"]);
        Assert.Equal(["2"], conversion.OutputNodes);
    }

    [Theory]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.2345678901234568e18, "1.2345678901234568e+18")]
    [InlineData(-0.0, "-0.0")]
    public void Floats_beyond_the_widgets_range_show_as_python_writes_them(double value, string text) =>
        Assert.Equal(text, ApiPromptConverter.PythonFloat(value));

    [Fact]
    public void A_value_that_exists_only_at_run_time_is_a_node_error_naming_source()
    {
        var prompt = Txt2Img();
        prompt["10"] = Node("PreviewAny", new JsonObject { ["source"] = Link("8", 0) });

        var (classType, errors) = ApiPromptConverter.Convert(prompt, Folders).NodeErrors["10"];

        Assert.Equal("PreviewAny", classType);
        var error = Assert.Single(errors);
        Assert.Equal(("value_not_supported", "source"), (error.Type, error.InputName));
        Assert.Contains("IMAGE", error.Details);
    }
}
