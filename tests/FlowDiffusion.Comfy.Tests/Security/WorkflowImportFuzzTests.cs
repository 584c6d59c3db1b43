using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.Tests.Security;

/// <summary>
/// ComfyUI editor-format workflow files (what <c>/api/comfy/import</c>, <c>flowdiffusion import</c> and the editor's
/// open read) damaged at random — a value anywhere in the JSON tree replaced by another kind, removed, or a number
/// pushed out of range; links, widget values, subgraph definitions and slots included — must each import or come back
/// as a list of problems, never an exception. Seeds 0 … n−1 (<c>FLOWDIFFUSION_FUZZ_SEED</c> moves them).
/// </summary>
public sealed class WorkflowImportFuzzTests
{
    private static readonly string[] Files = ["txt2img-ui.json", "subgraph-ui.json"];

    [Fact]
    public void Damaged_editor_workflows_import_or_list_problems_never_throw()
    {
        var folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(Path.GetTempPath(), "fd-import-fuzz-no-input"));
        var originals = Files.Select(f => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", f)))!).ToArray();
        foreach (var original in originals) Assert.Empty(ComfyWorkflowImport.Import(Encoding.UTF8.GetBytes(original.ToJsonString()), "fuzz", folders).Problems);
        var iterations = long.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 3_000;
        var first = long.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_SEED"), out var s) ? s : 0;
        var imported = 0;
        for (var seed = first; seed < first + iterations; seed++)
        {
            var random = new Random((int)(seed % int.MaxValue));
            var document = originals[random.Next(originals.Length)].DeepClone();
            for (var damage = random.Next(1, 4); damage > 0; damage--) Damage(random, document);
            var bytes = Encoding.UTF8.GetBytes(document.ToJsonString());
            try
            {
                var (conversion, problems) = ComfyWorkflowImport.Import(bytes, "fuzz", folders);
                if (problems.Count == 0)
                {
                    Assert.NotNull(conversion?.Workflow);
                    imported++;
                }
                else Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p)));
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"seed {seed} threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}\nfile: {document.ToJsonString()}");
            }
        }

        // Some damage is harmless (a title, a colour), most is not: both sides must be reached.
        Assert.InRange(imported, 1, iterations - 1);
    }

    // Replaces, removes or perturbs one value somewhere in the tree.
    private static void Damage(Random random, JsonNode document)
    {
        var all = new List<JsonNode>();
        Collect(document, all);
        var target = all[random.Next(all.Count)];
        if (target.Parent is not { } parent) return;
        JsonNode? replacement = random.Next(10) switch
        {
            0 => (JsonNode?)null,
            1 => new JsonArray(),
            2 => new JsonObject(),
            3 => JsonValue.Create("x"),
            4 => JsonValue.Create(-1),
            5 => JsonValue.Create(1e300),
            6 => JsonValue.Create(int.MaxValue),
            7 => target is JsonValue v && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d + random.Next(-3, 4)) : JsonValue.Create(0),
            8 => new JsonArray(1, 2, 3, 4, 5, 6),
            _ => "remove",
        };
        switch (parent)
        {
            case JsonObject o:
                var key = o.First(p => ReferenceEquals(p.Value, target)).Key;
                if (replacement is JsonValue r && r.TryGetValue<string>(out var text) && text == "remove") o.Remove(key);
                else o[key] = replacement;
                break;
            case JsonArray a:
                var index = a.IndexOf(target);
                if (replacement is JsonValue r2 && r2.TryGetValue<string>(out var text2) && text2 == "remove") a.RemoveAt(index);
                else a[index] = replacement;
                break;
        }
    }

    private static void Collect(JsonNode? node, List<JsonNode> all)
    {
        if (node is null) return;
        all.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o) Collect(child, all);
                break;
            case JsonArray a:
                foreach (var child in a) Collect(child, all);
                break;
        }
    }
}
