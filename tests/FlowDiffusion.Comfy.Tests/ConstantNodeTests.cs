using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's primitive and string nodes: computed when the prompt is converted, with Python's string rules, and read by
/// the widgets they link to as written values; a link of the wrong type is ComfyUI's return_type_mismatch.
/// </summary>
public sealed class ConstantNodeTests
{
    private static readonly ComfyFolders Folders =
        new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    [Theory]
    [InlineData("StringConcatenate", """{ "string_a": "a red", "string_b": "ball", "delimiter": ", " }""", "a red, ball")]
    [InlineData("StringConcatenate", """{ "string_a": "a", "string_b": "b", "delimiter": "" }""", "ab")]
    [InlineData("StringSubstring", """{ "string": "a red ball", "start": 2, "end": 5 }""", "red")]
    [InlineData("StringSubstring", """{ "string": "a red ball", "start": -4, "end": 100 }""", "ball")] // negative from the end, clamped
    [InlineData("StringSubstring", """{ "string": "a red ball", "start": 5, "end": 2 }""", "")]
    [InlineData("StringSubstring", """{ "string": "😀ab", "start": 1, "end": 2 }""", "a")] // code points, not UTF-16 units
    [InlineData("CaseConverter", """{ "string": "a RED ball", "mode": "UPPERCASE" }""", "A RED BALL")]
    [InlineData("CaseConverter", """{ "string": "a RED ball", "mode": "lowercase" }""", "a red ball")]
    [InlineData("CaseConverter", """{ "string": "a RED ball", "mode": "Capitalize" }""", "A red ball")]
    [InlineData("CaseConverter", """{ "string": "they're 1st o'neil", "mode": "Title Case" }""", "They'Re 1St O'Neil")] // Python's str.title
    [InlineData("StringTrim", """{ "string": " \t a red \n", "mode": "Both" }""", "a red")]
    [InlineData("StringTrim", """{ "string": " \u001f a red ", "mode": "Left" }""", "a red ")] // \x1f is space to Python
    [InlineData("StringTrim", """{ "string": " a red \n", "mode": "Right" }""", " a red")]
    [InlineData("StringReplace", """{ "string": "a red red ball", "find": "red", "replace": "blue" }""", "a blue blue ball")]
    [InlineData("StringReplace", """{ "string": "ab", "find": "", "replace": "-" }""", "-a-b-")] // Python inserts around every code point
    [InlineData("PrimitiveString", """{ "value": "a green ball" }""", "a green ball")]
    [InlineData("PrimitiveStringMultiline", """{ "value": "a green\nball" }""", "a green\nball")]
    public void String_nodes_compute_their_text_as_Python_does(string classType, string inputs, string expected)
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = new JsonObject { ["class_type"] = classType, ["inputs"] = JsonNode.Parse(inputs) };
        prompt["6"]!["inputs"]!["text"] = Link("20", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        Assert.Equal(expected, TextOf(conversion.Workflow!, "6"));
        // The constant is no workflow node of its own.
        Assert.DoesNotContain(conversion.Workflow!.Nodes, n => n.Title?.Contains("#20", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Primitive_numbers_and_string_tests_feed_widgets_of_their_type_and_chain()
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node("PrimitiveInt", new JsonObject { ["value"] = 123456789012 });
        prompt["21"] = Node("PrimitiveFloat", new JsonObject { ["value"] = 2.5 });
        prompt["22"] = Node("PrimitiveString", new JsonObject { ["value"] = "a red" });
        prompt["23"] = Node("StringConcatenate", new JsonObject { ["string_a"] = Link("22", 0), ["string_b"] = "ball", ["delimiter"] = " " });
        prompt["24"] = Node("StringLength", new JsonObject { ["string"] = Link("23", 0) });
        prompt["25"] = Node("PrimitiveString", new JsonObject { ["value"] = "dpmpp_2m" });
        prompt["3"]!["inputs"]!["seed"] = Link("20", 0);
        prompt["3"]!["inputs"]!["cfg"] = Link("21", 0);
        prompt["3"]!["inputs"]!["steps"] = Link("24", 0);
        prompt["3"]!["inputs"]!["sampler_name"] = Link("25", 0); // a COMBO takes a STRING
        prompt["6"]!["inputs"]!["text"] = Link("23", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var sampler = conversion.Workflow!.Node(ApiPromptConverter.NodeId("3"))!;
        Assert.Equal("123456789012", ((LiteralValue)sampler.Parameter("seed")!.Value).Value!.ToString());
        Assert.Equal(10L, ((LiteralValue)sampler.Parameter("steps")!.Value).Value); // "a red ball"
        Assert.Equal("dpmpp_2m", ((LiteralValue)sampler.Parameter("sampler")!.Value).Value);
        Assert.Equal("a red ball", TextOf(conversion.Workflow!, "6"));
        var guider = conversion.Workflow!.Nodes.Single(n => n.Type == "guidance.cfg");
        Assert.Equal(2.5, ((LiteralValue)guider.Parameter("scale")!.Value).Value);
    }

    [Theory]
    [InlineData("StringContains", """{ "string": "a Red ball", "substring": "red", "case_sensitive": false }""", true)]
    [InlineData("StringContains", """{ "string": "a Red ball", "substring": "red", "case_sensitive": true }""", false)]
    [InlineData("StringCompare", """{ "string_a": "a red ball", "string_b": "A RED", "mode": "Starts With", "case_sensitive": false }""", true)]
    [InlineData("StringCompare", """{ "string_a": "a red ball", "string_b": "ball", "mode": "Ends With", "case_sensitive": true }""", true)]
    [InlineData("StringCompare", """{ "string_a": "a red ball", "string_b": "a red", "mode": "Equal", "case_sensitive": true }""", false)]
    [InlineData("PrimitiveBoolean", """{ "value": true }""", true)]
    public void Boolean_nodes_feed_boolean_widgets(string classType, string inputs, bool expected)
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = new JsonObject { ["class_type"] = classType, ["inputs"] = JsonNode.Parse(inputs) };
        prompt["21"] = Node("StringLength", new JsonObject { ["string"] = Link("22", 0) });
        prompt["22"] = Node("StringConcatenate", new JsonObject { ["string_a"] = "x", ["string_b"] = "y", ["delimiter"] = "" });
        prompt["5"]!["inputs"]!["batch_size"] = Link("21", 0);
        prompt["40"] = Node("GrowMask", new JsonObject { ["mask"] = Link("41", 0), ["expand"] = 2, ["tapered_corners"] = Link("20", 0) });
        prompt["41"] = Node("SolidMask", new JsonObject { ["value"] = 1, ["width"] = 64, ["height"] = 64 });
        prompt["42"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = Link("5", 0), ["mask"] = Link("40", 0) });
        prompt["3"]!["inputs"]!["latent_image"] = Link("42", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var grow = conversion.Workflow!.Nodes.Single(n => n.Type == "mask.expand");
        Assert.Equal(expected, ((LiteralValue)grow.Parameter("tapered_corners")!.Value).Value);
        Assert.Equal(2L, ((LiteralValue)conversion.Workflow!.Node(ApiPromptConverter.NodeId("5"))!.Parameter("batch")!.Value).Value);
    }

    [Theory]
    [InlineData("seed", "PrimitiveFloat", """{ "value": 1.5 }""", "received_type(FLOAT) mismatch input_type(INT)")]
    [InlineData("cfg", "PrimitiveInt", """{ "value": 3 }""", "received_type(INT) mismatch input_type(FLOAT)")]
    [InlineData("sampler_name", "PrimitiveBoolean", """{ "value": true }""", "received_type(BOOLEAN) mismatch input_type(STRING)")]
    [InlineData("seed", "CheckpointLoaderSimple", """{ "ckpt_name": "analytic-sd" }""", "received_type(MODEL) mismatch input_type(INT)")]
    [InlineData("sampler_name", "PrimitiveString", """{ "value": "no_such_sampler" }""", "unknown sampler_name 'no_such_sampler'")]
    public void A_link_of_the_wrong_type_or_value_is_a_node_error_naming_the_widget(string widget, string classType, string inputs, string error)
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = new JsonObject { ["class_type"] = classType, ["inputs"] = JsonNode.Parse(inputs) };
        prompt["3"]!["inputs"]![widget] = Link("20", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Null(conversion.Workflow);
        var (_, errors) = conversion.NodeErrors["3"];
        Assert.Contains(errors, e => e.Details.Contains(widget, StringComparison.Ordinal) && e.Details.Contains(error, StringComparison.Ordinal));
    }

    [Fact]
    public void Concatenations_cannot_double_past_the_text_bound()
    {
        // 21 doublings of a 1-character string: 2,097,152 characters, past the 1,048,576 bound at the last one.
        var prompt = Prompts.Txt2Img();
        prompt["100"] = Node("PrimitiveString", new JsonObject { ["value"] = "x" });
        for (var i = 1; i <= 21; i++)
            prompt[$"{100 + i}"] = Node("StringConcatenate", new JsonObject { ["string_a"] = Link($"{99 + i}", 0), ["string_b"] = Link($"{99 + i}", 0), ["delimiter"] = "" });
        prompt["6"]!["inputs"]!["text"] = Link("121", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Null(conversion.Workflow);
        var (type, errors) = conversion.NodeErrors["121"];
        Assert.Equal("StringConcatenate", type);
        Assert.Contains("2,097,152 characters; at most 1,048,576", errors[0].Details, StringComparison.Ordinal);
        Assert.False(conversion.NodeErrors.ContainsKey("120"));
    }

    [Fact]
    public async Task A_prompt_built_by_string_nodes_draws_its_colour_through_the_server()
    {
        await using var host = await ComfyHost.StartAsync();
        var prompt = Prompts.Txt2Img(text: "unused");
        prompt["20"] = Node("PrimitiveStringMultiline", new JsonObject { ["value"] = "a BLUE ball" });
        prompt["21"] = Node("StringReplace", new JsonObject { ["string"] = Link("20", 0), ["find"] = "BLUE", ["replace"] = "GREEN" });
        prompt["22"] = Node("CaseConverter", new JsonObject { ["string"] = Link("21", 0), ["mode"] = "lowercase" });
        prompt["6"]!["inputs"]!["text"] = Link("22", 0);

        var (r, g, b) = await ClassMappingTests.RunMeanAsync(host, prompt);

        Assert.True(r < 0.02 && g > 0.98 && b < 0.02, $"a green ball: ({r:F3}, {g:F3}, {b:F3})");
    }

    private static string TextOf(Workflow workflow, string comfyId) =>
        (string)((LiteralValue)workflow.Node(ApiPromptConverter.NodeId(comfyId, "tokens"))!.Parameter("text")!.Value).Value!;
}
