using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// ComfyUI's RegexMatch, RegexExtract and RegexReplace, folded at conversion with the Python pattern translated to .NET:
/// every case of TestData/regex/reference.json (written by tools/comfy/regex_reference.py with Python's own re) gives
/// exactly Python's value or Python's error; what has no exact translation, a pattern that backtracks without end and a
/// result past 1,048,576 characters are node errors naming the input.
/// </summary>
public sealed class RegexNodeTests
{
    private static readonly ComfyFolders Folders =
        new(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-comfy-no-input"));

    private static readonly JsonArray Cases = (JsonArray)JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "regex", "reference.json")))!["cases"]!;

    /// <summary>The indices of the reference cases.</summary>
    public static TheoryData<int> CaseIndices => [.. Enumerable.Range(0, Cases.Count)];

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void Each_reference_case_gives_Pythons_value_or_error(int index)
    {
        var c = Cases[index]!.AsObject();
        var node = (string)c["node"]!;
        var inputs = new JsonObject
        {
            ["string"] = (string)c["string"]!, ["regex_pattern"] = (string)c["pattern"]!, ["case_insensitive"] = (bool)c["case_insensitive"]!,
            ["multiline"] = (bool)c["multiline"]!, ["dotall"] = (bool)c["dotall"]!,
        };
        if (node == "extract")
        {
            inputs["mode"] = (string)c["mode"]!;
            inputs["group_index"] = (int)c["group_index"]!;
        }

        if (node == "replace")
        {
            inputs["replace"] = (string)c["replace"]!;
            inputs["count"] = (int)c["count"]!;
        }

        var classType = node switch { "match" => "RegexMatch", "extract" => "RegexExtract", _ => "RegexReplace" };
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node(classType, inputs);
        if (node == "match")
        {
            // A BOOLEAN reaches GrowMask's tapered_corners.
            prompt["40"] = Node("GrowMask", new JsonObject { ["mask"] = Link("41", 0), ["expand"] = 2, ["tapered_corners"] = Link("20", 0) });
            prompt["41"] = Node("SolidMask", new JsonObject { ["value"] = 1, ["width"] = 64, ["height"] = 64 });
            prompt["42"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = Link("5", 0), ["mask"] = Link("40", 0) });
            prompt["3"]!["inputs"]!["latent_image"] = Link("42", 0);
        }
        else
        {
            prompt["6"]!["inputs"]!["text"] = Link("20", 0);
        }

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        var label = $"case {index}: {c.ToJsonString()}";
        if (c["error"] is not null)
        {
            Assert.True(conversion.NodeErrors.ContainsKey("20"), label);
            Assert.Equal(classType, conversion.NodeErrors["20"].ClassType);
            return;
        }

        Assert.True(conversion.NodeErrors.Count == 0, $"{label}: {string.Join("; ", conversion.NodeErrors.SelectMany(e => e.Value.Errors).Select(e => e.Details))}");
        if (node == "match")
        {
            var grow = conversion.Workflow!.Nodes.Single(n => n.Type == "mask.expand");
            Assert.True((bool)c["value"]! == (bool)((LiteralValue)grow.Parameter("tapered_corners")!.Value).Value!, label);
        }
        else
        {
            Assert.True((string)c["value"]! == TextOf(conversion.Workflow!, "6"), $"{label}: got {JsonValue.Create(TextOf(conversion.Workflow!, "6")).ToJsonString()}");
        }
    }

    [Fact]
    public void A_RegexReplace_chain_writes_the_prompt_text()
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node("PrimitiveStringMultiline", new JsonObject { ["value"] = "photo of a RED ball, red cube" });
        prompt["21"] = Node("RegexReplace", new JsonObject
        {
            ["string"] = Link("20", 0), ["regex_pattern"] = @"(?P<c>red) (\w+)", ["replace"] = @"\2 in $\g<c>$", ["count"] = 1,
        });
        prompt["22"] = Node("RegexExtract", new JsonObject
        {
            ["string"] = Link("21", 0), ["regex_pattern"] = @"of a (.*)", ["mode"] = "First Group", ["case_insensitive"] = false,
            ["multiline"] = false, ["dotall"] = false, ["group_index"] = 1,
        });
        prompt["6"]!["inputs"]!["text"] = Link("22", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        Assert.Equal("ball in $RED$, red cube", TextOf(conversion.Workflow!, "6"));
        Assert.DoesNotContain(conversion.Workflow!.Nodes, n => n.Title?.Contains("#21", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_pattern_that_backtracks_without_end_is_a_node_error_within_the_timeout()
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node("RegexReplace", new JsonObject { ["string"] = new string('a', 40) + "!", ["regex_pattern"] = "(a+)+$", ["replace"] = "x" });
        prompt["6"]!["inputs"]!["text"] = Link("20", 0);

        var clock = Stopwatch.StartNew();
        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        var error = Assert.Single(conversion.NodeErrors["20"].Errors);
        Assert.Equal("regex_pattern", error.InputName);
        Assert.Contains("ran past 1 s", error.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RegexMatch", "(?>a)", "regex_pattern", "atomic group")]
    [InlineData("RegexMatch", "a*+", "regex_pattern", "possessive")]
    [InlineData("RegexExtract", "(a)?(?(1)b|c)", "regex_pattern", "conditional")]
    [InlineData("RegexMatch", "(?x) a", "regex_pattern", "(?x)")]
    [InlineData("RegexMatch", "(?a)\\w", "regex_pattern", "(?a)")]
    [InlineData("RegexMatch", @"\N{DIGIT ONE}", "regex_pattern", @"\N{")]
    [InlineData("RegexMatch", @"(?<=(a)\1)b", "regex_pattern", "look-behind")]
    [InlineData("RegexMatch", @"(?P<é>a)", "regex_pattern", "non-ASCII group name")]
    [InlineData("RegexMatch", "😀", "regex_pattern", "U+FFFF")]
    [InlineData("RegexMatch", @"\U0001F600", "regex_pattern", "U+FFFF")]
    [InlineData("RegexMatch", "a{100001}", "regex_pattern", "100,000")]
    [InlineData("RegexExtract", "a", "string", "U+FFFF", "a 😀")]
    [InlineData("RegexReplace", "a", "replace", "U+FFFF", "a", "😀")]
    [InlineData("RegexReplace", "(", "regex_pattern", "missing ), unterminated subpattern at position 0")]
    [InlineData("RegexReplace", "a", "replace", @"bad escape \q", "a", @"\q")]
    [InlineData("RegexExtract", "(x)?b", "group_index", "took no part", "b")]
    [InlineData("RegexMatch", "s", "string", "case partners", "\u017f")] // Python's re.I pairs ſ with s
    [InlineData("RegexMatch", "(?i)[h-j]", "string", "case partners", "x\u0130")]
    [InlineData("RegexMatch", "[\u0120-\u0140]", "regex_pattern", "case partners")] // a range over İ and ı
    [InlineData("RegexMatch", "(?i:\u212a)", "regex_pattern", "case partners")]
    public void What_has_no_exact_translation_is_a_node_error_naming_the_input(string classType, string pattern, string input, string message, string text = "abc", string replace = "")
    {
        var inputs = new JsonObject { ["string"] = text, ["regex_pattern"] = pattern };
        if (classType == "RegexReplace") inputs["replace"] = replace;
        if (classType == "RegexExtract") inputs["mode"] = "First Group";
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node(classType, inputs);
        prompt["6"]!["inputs"]!["text"] = classType == "RegexMatch" ? "unused" : Link("20", 0);
        if (classType == "RegexMatch") prompt["6"]!["inputs"]!["text"] = Link("21", 0);
        prompt["21"] = Node("StringConcatenate", new JsonObject { ["string_a"] = "x", ["string_b"] = "y", ["delimiter"] = "" });
        prompt["40"] = Node("GrowMask", new JsonObject { ["mask"] = Link("41", 0), ["expand"] = 2, ["tapered_corners"] = classType == "RegexMatch" ? Link("20", 0) : true });
        prompt["41"] = Node("SolidMask", new JsonObject { ["value"] = 1, ["width"] = 64, ["height"] = 64 });
        prompt["42"] = Node("SetLatentNoiseMask", new JsonObject { ["samples"] = Link("5", 0), ["mask"] = Link("40", 0) });
        prompt["3"]!["inputs"]!["latent_image"] = Link("42", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        Assert.Null(conversion.Workflow);
        var error = Assert.Single(conversion.NodeErrors["20"].Errors);
        Assert.Equal(input, error.InputName);
        Assert.Contains(message, error.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RegexExtract", "group_index", 101)]
    [InlineData("RegexReplace", "count", 101)]
    [InlineData("RegexReplace", "count", -1)]
    public void Group_index_and_count_keep_ComfyUIs_ranges(string classType, string input, int value)
    {
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node(classType, new JsonObject { ["string"] = "abc", ["regex_pattern"] = "b", ["replace"] = "x", ["mode"] = "First Group", [input] = value });
        prompt["6"]!["inputs"]!["text"] = Link("20", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        var error = Assert.Single(conversion.NodeErrors["20"].Errors);
        Assert.Equal(input, error.InputName);
        Assert.StartsWith(value < 0 ? "value_smaller_than_min" : "value_bigger_than_max", error.Type, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replacement_past_the_text_bound_is_a_node_error()
    {
        // 2,000 matches of 600 characters each: few matches, so the time bounds stay far away even on a loaded machine.
        var prompt = Prompts.Txt2Img();
        prompt["20"] = Node("RegexReplace", new JsonObject { ["string"] = new string('a', 2_000), ["regex_pattern"] = "a", ["replace"] = new string('b', 600) });
        prompt["6"]!["inputs"]!["text"] = Link("20", 0);

        var conversion = ApiPromptConverter.Convert(prompt, Folders, requireFiles: false);

        var error = Assert.Single(conversion.NodeErrors["20"].Errors);
        Assert.Contains("1,048,576 characters", error.Details, StringComparison.Ordinal);
    }

    private static string TextOf(Workflow workflow, string comfyId) =>
        (string)((LiteralValue)workflow.Node(ApiPromptConverter.NodeId(comfyId, "tokens"))!.Parameter("text")!.Value).Value!;
}
