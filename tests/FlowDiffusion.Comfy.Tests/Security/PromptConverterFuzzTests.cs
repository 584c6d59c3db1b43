using System.Globalization;
using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Api;
using FlowDiffusion.Comfy.Conversion;

namespace FlowDiffusion.Comfy.Tests.Security;

/// <summary>
/// Random API-format prompts built from <c>/object_info</c>'s own schema — every mapped class, inputs filled with values
/// in and out of their ranges, combos with listed and unlisted names, links to the right type, the wrong type, missing
/// nodes, bad slots and garbage, then damaged further — must each convert to a workflow or to ComfyUI's errors: the
/// converter is what <c>POST /prompt</c> runs on whatever a client sends, so an exception there is a 500 where the client
/// should hear which node and input is wrong. Seeds are fixed (0 … n−1) so a CI run repeats what ran here;
/// <c>FLOWDIFFUSION_FUZZ_SEED</c> moves them and <c>FLOWDIFFUSION_FUZZ_ITERATIONS</c> widens them for a campaign.
/// </summary>
public sealed class PromptConverterFuzzTests : IDisposable
{
    private static readonly string[] Strings =
        ["", "x", "analytic-sd", "../../etc/passwd", "/etc/passwd", "a\u0000b", "C:\\Windows\\win.ini", "NaN", "-1", "1e309", "[\"1\", 0]", "nul",
         "ComfyUI", "checkpoints/../..", "euler", "normal", "\u00e9\u2603", new string('a', 300), "*", "(a:1.5) [b:c:0.5] AND d", "{a|b}", ".", "~/x"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "fd-prompt-fuzz-" + Guid.NewGuid().ToString("N"));
    private readonly ComfyFolders _folders;
    private readonly (string Name, JsonObject Info)[] _classes;

    public PromptConverterFuzzTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "input"));
        _folders = new ComfyFolders(Path.Combine(RepositoryRoot.Path, "models"), RepositoryRoot.Path, Path.Combine(_root, "input"));
        _classes = ApiPromptConverter.SupportedClasses.Select(c => (c, ObjectInfo.Describe(c, _folders)!)).ToArray();
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Every_class_is_described_so_the_fuzzer_reaches_it()
    {
        // A class /object_info cannot describe would never be drawn below.
        Assert.All(_classes, c => Assert.NotNull(c.Info));
        Assert.True(_classes.Length >= 140, $"{_classes.Length} classes");
    }

    [Theory]
    [InlineData("DiffusersLoader", "model_path", "a\u0000b")]
    [InlineData("DiffusersLoader", "model_path", "../../etc")]
    [InlineData("CheckpointLoaderSimple", "ckpt_name", "../../etc/passwd")]
    [InlineData("UNETLoader", "unet_name", "/etc/passwd")]
    [InlineData("VAELoader", "vae_name", "x/../../y.safetensors")]
    public void An_imported_name_that_leaves_its_model_folder_is_a_node_error_not_a_path(string type, string input, string name)
    {
        // Found by this fuzzer: an import (files not required) kept any missing name as models/<folder>/<name>, so a NUL threw
        // out of the converter and '..' made a path outside the models folder.
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = type, ["inputs"] = new JsonObject { [input] = name, ["weight_dtype"] = "default" } },
            ["2"] = new JsonObject { ["class_type"] = "PreviewAny", ["inputs"] = new JsonObject { ["source"] = Link("1", 0) } },
        };

        var conversion = ApiPromptConverter.Convert(prompt, _folders, requireFiles: false);

        Assert.False(conversion.IsValid);
        var error = Assert.Single(conversion.NodeErrors["1"].Errors);
        Assert.Equal("value_not_in_list", error.Type);
        Assert.Contains(input, error.Details, StringComparison.Ordinal);
        Assert.DoesNotContain(conversion.Warnings, w => w.Contains(name, StringComparison.Ordinal));
    }

    [Fact]
    public void An_imported_name_inside_its_model_folder_is_kept_with_a_warning()
    {
        var prompt = new JsonObject
        {
            ["1"] = new JsonObject { ["class_type"] = "VAELoader", ["inputs"] = new JsonObject { ["vae_name"] = "sub/not-here.safetensors" } },
            ["2"] = new JsonObject { ["class_type"] = "PreviewAny", ["inputs"] = new JsonObject { ["source"] = Link("1", 0) } },
        };

        var conversion = ApiPromptConverter.Convert(prompt, _folders, requireFiles: false);

        // (PreviewAny refuses a VAE; the loader itself converts.)
        Assert.False(conversion.NodeErrors.ContainsKey("1"), conversion.ErrorJson().ToJsonString());
        Assert.Contains(conversion.Warnings, w => w.Contains("models/vae/sub/not-here.safetensors", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_prompts_over_every_class_convert_or_are_refused_never_thrown()
    {
        var iterations = long.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 1_500;
        var first = long.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_SEED"), out var s) ? s : 0;
        var valid = 0;
        var refused = 0;
        for (var seed = first; seed < first + iterations; seed++)
        {
            var random = new Random((int)(seed % int.MaxValue));
            var prompt = RandomPrompt(random);
            var requireFiles = random.Next(2) == 0;
            PromptConversion conversion;
            try
            {
                conversion = ApiPromptConverter.Convert(prompt.DeepClone(), _folders, requireFiles: requireFiles);
                if (conversion.IsValid) valid++;
                else
                {
                    refused++;
                    var body = conversion.ErrorJson();
                    Assert.NotNull(body["error"]);
                    // Every node error names its node's class, as ComfyUI's body does.
                    foreach (var (id, entry) in (JsonObject)body["node_errors"]!)
                        Assert.True(prompt.ContainsKey(id) || id.Length == 0, $"seed {seed}: error on unknown node '{id}'");
                }
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed} (requireFiles {requireFiles}) threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}\nprompt: {prompt.ToJsonString()}");
                return;
            }
        }

        // The generator must reach both sides, or it tests nothing: most prompts are refused, some convert (about one in
        // ten: every class that needs annotator weights, absent from the repository's models folder, is refused).
        Assert.True(refused > iterations / 10, $"refused {refused} of {iterations}");
        Assert.True(valid > iterations / 20, $"converted {valid} of {iterations}");
    }

    // A prompt grown backwards from an output, each link input fed by a class that makes its type (so conversion walks deep
    // into the mapped classes), then damaged in 0 … 3 places by the untyped generator below.
    private JsonObject RandomPrompt(Random random)
    {
        var prompt = new JsonObject();
        var ids = new List<string>();
        var sink = random.Next(4) switch { 0 => "PreviewAny", 1 => "SaveLatent", _ => random.Next(2) == 0 ? "SaveImage" : "PreviewImage" };
        Grow(random, prompt, ids, sink, 0);
        for (var damage = random.Next(4); damage > 0; damage--)
        {
            var id = ids[random.Next(ids.Count)];
            if (prompt[id]!["inputs"] is not JsonObject inputs) continue;
            var info = _classes.First(c => c.Name == prompt[id]!["class_type"]!.GetValue<string>()).Info;
            var specs = (info["input"]?["required"] as JsonObject ?? []).Concat(info["input"]?["optional"] as JsonObject ?? []).ToList();
            switch (random.Next(6))
            {
                case 0 when inputs.Count > 0:
                    inputs.Remove(inputs.ElementAt(random.Next(inputs.Count)).Key);
                    break;
                case 1:
                    prompt[id]!["inputs"] = Garbage(random, ids);
                    break;
                case 2:
                    inputs["unexpected_input"] = Garbage(random, ids);
                    break;
                default:
                    if (specs.Count == 0) break;
                    var (input, spec) = specs[random.Next(specs.Count)];
                    inputs[input] = Value(random, (JsonArray)spec!, ids, prompt);
                    break;
            }
        }

        return prompt;
    }

    // Adds a node of class <paramref name="name"/> whose link inputs are grown the same way; returns its id.
    private string Grow(Random random, JsonObject prompt, List<string> ids, string name, int depth)
    {
        var info = _classes.First(c => c.Name == name).Info;
        var id = (ids.Count + 1).ToString(CultureInfo.InvariantCulture);
        ids.Add(id);
        var inputs = new JsonObject();
        prompt[id] = new JsonObject { ["class_type"] = name, ["inputs"] = inputs };
        foreach (var group in new[] { "required", "optional" })
        {
            if (info["input"]?[group] is not JsonObject specs) continue;
            foreach (var (input, spec) in specs)
            {
                if (group == "optional" && random.Next(3) != 0) continue;
                var type = ((JsonArray)spec!)[0] is JsonValue v ? v.GetValue<string>() : null;
                if (type is null or "INT" or "FLOAT" or "STRING" or "BOOLEAN")
                {
                    inputs[input] = Plausible(random, (JsonArray)spec!);
                    continue;
                }

                var makers = _classes.SelectMany(c => ((JsonArray)c.Info["output"]!).Select((o, slot) => (c.Name, Slot: slot, Type: o!.GetValue<string>())))
                    .Where(o => type == "*" || o.Type == type || o.Type.Split(',').Contains(type)).ToList();
                if (makers.Count == 0 || ids.Count > 24)
                {
                    if (group == "required") inputs[input] = Link("404", 0);
                    continue;
                }

                // Deep in the graph, prefer makers with no link inputs of their own (loaders, constants) so it ends.
                var leaves = makers.Where(m => !HasLinkInputs(m.Name)).ToList();
                var (maker, slot, _) = depth > 3 && leaves.Count > 0 ? leaves[random.Next(leaves.Count)] : makers[random.Next(makers.Count)];
                inputs[input] = Link(Grow(random, prompt, ids, maker, depth + 1), slot);
            }
        }

        return id;
    }

    private bool HasLinkInputs(string name) =>
        _classes.First(c => c.Name == name).Info["input"]?["required"] is JsonObject required
        && required.Any(p => ((JsonArray)p.Value!)[0] is JsonValue v && v.GetValue<string>() is not ("INT" or "FLOAT" or "STRING" or "BOOLEAN"));

    // A value within the input's spec: a listed choice, a number in range, a string from the list.
    private static JsonNode? Plausible(Random random, JsonArray spec)
    {
        var options = spec.Count > 1 ? spec[1] as JsonObject : null;
        switch (spec[0])
        {
            case JsonArray choices when choices.Count > 0:
                return choices[random.Next(choices.Count)]!.DeepClone();
            case JsonValue type when type.GetValue<string>() is "INT" or "FLOAT":
                var min = Number(options?["min"]) ?? -1e6;
                var max = Math.Min(Number(options?["max"]) ?? 1e6, Math.Max(min, 0) + 256);
                var value = options?["default"] is { } d && random.Next(2) == 0 ? Number(d) ?? min : min + (random.NextDouble() * (max - min));
                return type.GetValue<string>() == "INT" ? JsonValue.Create((long)Math.Round(value)) : JsonValue.Create(value);
            case JsonValue type when type.GetValue<string>() == "BOOLEAN":
                return JsonValue.Create(random.Next(2) == 0);
            default:
                return options?["default"] is JsonValue text && random.Next(2) == 0 ? text.DeepClone() : Strings[random.Next(Strings.Length)];
        }
    }

    // A value for an input of spec [TYPE or [choices], options?]: usually plausible, sometimes wrong in type or range.
    private JsonNode? Value(Random random, JsonArray spec, List<string> ids, JsonObject prompt)
    {
        if (random.Next(12) == 0) return Garbage(random, ids);
        var options = spec.Count > 1 ? spec[1] as JsonObject : null;
        switch (spec[0])
        {
            case JsonArray choices:
                return choices.Count > 0 && random.Next(6) != 0 ? choices[random.Next(choices.Count)]!.DeepClone() : Strings[random.Next(Strings.Length)];
            case JsonValue type when type.GetValue<string>() is var t:
                switch (t)
                {
                    case "INT":
                    case "FLOAT":
                        var min = Number(options?["min"]) ?? -1e6;
                        var max = Number(options?["max"]) ?? 1e6;
                        var inRange = random.Next(4) != 0;
                        var value = inRange
                            ? min + (random.NextDouble() * (Math.Min(max, min + 4096) - min))
                            : random.Next(5) switch { 0 => min - 1, 1 => max + 1, 2 => -1e300, 3 => 1e300, _ => 0.5 };
                        return t == "INT" && inRange ? JsonValue.Create((long)Math.Round(value)) : JsonValue.Create(value);
                    case "STRING":
                        return Strings[random.Next(Strings.Length)];
                    case "BOOLEAN":
                        return random.Next(8) == 0 ? JsonValue.Create("true") : JsonValue.Create(random.Next(2) == 0);
                    default:
                        // A link: usually to an earlier node (of any output), sometimes to nothing or to itself.
                        if (ids.Count == 0 || random.Next(8) == 0) return Link(random.Next(2) == 0 ? "404" : (ids.Count + 1).ToString(CultureInfo.InvariantCulture), 0);
                        var target = ids[random.Next(ids.Count)];
                        var outputs = _classes.FirstOrDefault(c => c.Name == prompt[target]?["class_type"]?.GetValue<string>()).Info?["output"] is JsonArray o ? o.Count : 1;
                        var slot = random.Next(10) == 0 ? random.Next(-2, outputs + 3) : random.Next(Math.Max(1, outputs));
                        return Link(target, slot);
                }

            default:
                return Garbage(random, ids);
        }
    }

    private static JsonNode? Garbage(Random random, List<string> ids) => random.Next(12) switch
    {
        0 => null,
        1 => new JsonArray(),
        2 => new JsonArray("1"),
        3 => new JsonArray(ids.Count > 0 ? ids[0] : "1", "0"),
        4 => new JsonArray(1, 0),
        5 => new JsonArray(ids.Count > 0 ? ids[0] : "1", 0.5),
        6 => new JsonObject { ["a"] = 1 },
        7 => JsonValue.Create(long.MaxValue),
        8 => JsonValue.Create(-0.0),
        9 => new JsonArray(ids.Count > 0 ? ids[0] : "1", 0, 1),
        10 => JsonValue.Create(true),
        _ => Strings[random.Next(Strings.Length)],
    };

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;

    private static JsonArray Link(string node, int slot) => [node, slot];
}
