using System.Diagnostics;
using CsCheck;
using FlowDiffusion.Testing;
using FlowDiffusion.Engine.Workflows;

namespace FlowDiffusion.Engine.Tests.Security;

/// <summary>
/// Property-based fuzzing of the workflow reader: documents assembled from YAML's structural tokens (brackets, braces,
/// quotes, indentation, dashes, anchors, tags, block scalars) and mutations of a real workflow. Every one must come back
/// as a workflow or as diagnostics — never an exception, a crash, or a slow parse.
/// </summary>
public sealed class WorkflowReaderFuzzTests
{
    private const string Valid = """
        flowdiffusion: 1
        name: fuzz
        inputs:
          a: { type: float, default: 2, min: 0, max: 10 }
        nodes:
          first: { node: test.number, with: { value: $a } }
          text: { node: test.text, with: { text: "quoted [text] {x}", separator: '-' } }
          sum:
            node: test.add
            in: { a: first.result, b: first.result }
        editor:
          positions: { first: [1, 2] }
        """;

    private static readonly string[] Tokens =
    [
        "[", "]", "{", "}", ",", ":", ": ", "- ", "? ", "\n", "\n  ", "\n    ", "\"", "'", "#", "&a ", "*a", "!!str ", "|\n", ">-\n",
        "nodes", "node", "with", "in", "flowdiffusion: 1", "x", "1", "-1.5e9", ".nan", "null", "\t", "\\", "\u00e9", "%YAML 1.2\n", "---\n", "...\n",
    ];

    private static readonly Gen<string> TokenSoup = Gen.Int[0, Tokens.Length - 1].Array[0, 400].Select(ix => string.Concat(ix.Select(i => Tokens[i])));

    private static readonly Gen<string> MutatedWorkflow =
        from edits in Gen.Select(Gen.Int[0, Valid.Length - 1], Gen.Int[0, Tokens.Length - 1], Gen.Int[0, 3]).Array[1, 6]
        select Mutate(edits);

    [Fact]
    public void A_complex_key_the_YAML_model_cannot_represent_is_diagnosed_not_thrown()
    {
        // Found by the token-soup fuzzer (seed 2tjhbYhXJDi2): YamlDotNet threw ArgumentException out of the reader.
        var result = WorkflowYamlReader.Read("? : node#\u00e9\\\n    :node", "fuzz.yaml");
        Assert.Null(result.Workflow);
        Assert.Contains(result.Diagnostics, d => d.IsError && d.Message.Contains("malformed YAML", StringComparison.Ordinal));
    }

    [Fact]
    public void A_tag_that_is_not_a_valid_uri_is_diagnosed_not_thrown()
    {
        // Found by the mutation fuzzer in CI (seed de_ZY8E0wby1): YamlDotNet's parser threw ArgumentException ("Global tags
        // must be valid URIs") out of the reader's anchor scan.
        var result = WorkflowYamlReader.Read("flowdiffusion: 1\ninputs:\n  a: { type: float, default: 2,!!]str 0, max: 10 }\n", "fuzz.yaml");
        Assert.Null(result.Workflow);
        var error = Assert.Single(result.Diagnostics, d => d.IsError);
        Assert.Contains("malformed YAML: a tag", error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Location);
    }

    [Fact]
    public void Fuzz_token_soup_is_read_or_diagnosed_never_thrown()
    {
        TokenSoup.Sample(Check, iter: FuzzIterations.Count(4_000));
    }

    [Fact]
    public void Fuzz_mutated_workflows_are_read_or_diagnosed_never_thrown()
    {
        MutatedWorkflow.Sample(Check, iter: FuzzIterations.Count(4_000));
    }

    [Fact]
    public void Fuzz_deep_mixtures_of_openers_are_refused_fast()
    {
        Gen.Int[0, 3].Array[5_000, 20_000].Sample(kinds =>
        {
            var yaml = "nodes: " + string.Concat(kinds.Select(k => k switch { 0 => "[", 1 => "{a: ", 2 => "[\"]\", ", _ => "{'}': [" }));
            var clock = Stopwatch.StartNew();
            var result = WorkflowYamlReader.Read(yaml);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"{yaml.Length} chars took {clock.Elapsed.TotalMilliseconds:F0} ms");
            Assert.Null(result.Workflow);
        }, iter: FuzzIterations.Count(30));
    }

    private static void Check(string yaml)
    {
        var clock = Stopwatch.StartNew();
        var result = WorkflowYamlReader.Read(yaml, "fuzz.yaml");
        Assert.True(result.Workflow is not null || result.Diagnostics.Count > 0);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"{clock.Elapsed.TotalMilliseconds:F0} ms");
        if (result.Workflow is { } workflow && !result.HasErrors) WorkflowYamlWriter.Write(workflow);
    }

    private static string Mutate((int At, int Token, int Kind)[] edits)
    {
        var text = Valid;
        foreach (var (at, token, kind) in edits)
        {
            var i = Math.Min(at, text.Length);
            text = kind switch
            {
                0 => text.Insert(i, Tokens[token]),
                1 => text.Remove(i, Math.Min(3, text.Length - i)),
                2 => text.Insert(i, string.Concat(Enumerable.Repeat(Tokens[token], 70))),
                _ => text[..i] + Tokens[token] + text[Math.Min(text.Length, i + Tokens[token].Length)..],
            };
        }
        return text;
    }
}
