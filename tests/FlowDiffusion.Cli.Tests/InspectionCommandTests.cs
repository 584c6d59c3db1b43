using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowDiffusion.Cli.Tests;

/// <summary>tokenize / schedule / noise --json agree with the reference implementations' numbers.</summary>
public sealed class InspectionCommandTests
{
    public static TheoryData<int> NoiseCases()
    {
        var data = new TheoryData<int>();
        var cases = JsonNode.Parse(File.ReadAllText(Cli.TestData("torch_cpu_randn.json")))!["cases"]!.AsArray();
        for (var i = 0; i < cases.Count; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(NoiseCases))]
    public void Noise_json_reproduces_torch_randn_bit_for_bit(int index)
    {
        var oracle = JsonNode.Parse(File.ReadAllText(Cli.TestData("torch_cpu_randn.json")))!["cases"]![index]!;
        var shape = string.Join(',', oracle["shape"]!.AsArray().Select(d => d!.GetValue<int>()));
        var (exit, stdout, stderr) = Cli.Run("noise", "--seed", oracle["seed"]!.ToJsonString(), "--shape", shape, "--json");
        Assert.True(exit == 0, stderr);
        var values = JsonNode.Parse(stdout)!["values"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        // Small cases list every value; large ones their first 8, last 4 and the exact double sum.
        if (oracle["values"] is JsonArray all)
        {
            AssertBits(all, values, 0);
        }
        else
        {
            AssertBits(oracle["first8"]!.AsArray(), values, 0);
            AssertBits(oracle["last4"]!.AsArray(), values, values.Length - 4);
            Assert.Equal(oracle["sum_f64"]!.GetValue<double>(), values.Sum(v => (double)v), 1e-9);
        }
        Assert.Equal(oracle["shape"]!.AsArray().Aggregate(1, (n, d) => n * d!.GetValue<int>()), values.Length);
    }

    private static void AssertBits(JsonArray expected, float[] values, int offset)
    {
        for (var i = 0; i < expected.Count; i++)
        {
            var e = (float)expected[i]!.GetValue<double>();
            Assert.True(BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(values[offset + i]), $"value {offset + i}: expected {e:R}, got {values[offset + i]:R}");
        }
    }

    [Theory]
    [InlineData("euler_linspace_30", "euler")]
    [InlineData("ddim_leading_50", "ddim")]
    [InlineData("pndm_leading_50", "pndm")]
    public void Schedule_json_reproduces_diffusers_sd15_schedules(string id, string scheduler)
    {
        var oracle = JsonNode.Parse(File.ReadAllText(Cli.TestData("sd15_schedules.json")))![id]!;
        var config = Path.Combine(Path.GetTempPath(), $"fd-cli-{Guid.NewGuid():n}.json");
        File.WriteAllText(config, oracle["config"]!.ToJsonString());
        try
        {
            var (exit, stdout, stderr) = Cli.Run("schedule", "--config-file", config, "--scheduler", scheduler,
                "--steps", oracle["steps"]!.ToJsonString(), "--spacing", oracle["spacing"]!.GetValue<string>(), "--json");
            Assert.True(exit == 0, stderr);
            var result = JsonNode.Parse(stdout)!;
            AssertClose(oracle["timesteps"]!.AsArray(), result["timesteps"]!.AsArray());
            if (oracle["sigmas"] is JsonArray sigmas) AssertClose(sigmas, result["sigmas"]!.AsArray());
            else Assert.Null(result["sigmas"]);
            Assert.Equal(oracle["init_noise_sigma"]!.GetValue<double>(), result["init_noise_sigma"]!.GetValue<double>(), 1e-5);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [SkippableFact]
    public void Tokenize_json_gives_clip_ids_for_the_reference_cases()
    {
        var vocabulary = Path.GetFullPath(Path.Combine(Cli.RepoRoot, "..", "shared", "oracles", "clip"));
        Skip.IfNot(File.Exists(Path.Combine(vocabulary, "vocab.json")), $"the CLIP vocabulary is not at {vocabulary} (it is not ours to ship; CI has it)");
        foreach (var item in JsonNode.Parse(File.ReadAllText(Cli.TestData("clip_cases.json")))!.AsArray().Take(6))
        {
            var (exit, stdout, stderr) = Cli.Run("tokenize", "--tokenizer", vocabulary, "--json", item!["text"]!.GetValue<string>());
            Assert.True(exit == 0, stderr);
            var ids = JsonNode.Parse(stdout)!["ids"]!.AsArray().Select(i => i!.GetValue<int>());
            Assert.Equal(item["ids"]!.AsArray().Select(i => i!.GetValue<int>()), ids);
        }
    }

    [Fact]
    public void Tokenize_json_lists_the_tokens_of_a_model_vocabulary()
    {
        var (exit, stdout, stderr) = Cli.Run("tokenize", "--tokenizer", "models/analytic-sd", "--json", "A RED ball");
        Assert.True(exit == 0, stderr);
        var tokens = JsonNode.Parse(stdout)!["tokens"]!.AsArray().Select(t => t!.GetValue<string>()).ToArray();
        Assert.Equal(["<|startoftext|>", "a</w>", "red</w>", "ball</w>", "<|endoftext|>"], tokens);
    }

    [Fact]
    public void Inspection_commands_refuse_bad_arguments_with_exit_code_2()
    {
        Assert.Equal(2, Cli.Run("noise", "--seed", "x", "--shape", "1,2").ExitCode);
        Assert.Equal(2, Cli.Run("noise", "--seed", "1", "--shape", "1,0").ExitCode);
        var schedule = Cli.Run("schedule", "--model", "models/analytic-sd", "--scheduler", "eulerr", "--steps", "5");
        Assert.Equal(2, schedule.ExitCode);
        Assert.Contains("euler_a", schedule.Stderr);
        Assert.Equal(2, Cli.Run("schedule", "--scheduler", "euler", "--steps", "5").ExitCode);
    }

    private static void AssertClose(JsonArray expected, JsonArray actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            double e = expected[i]!.GetValue<double>(), a = actual[i]!.GetValue<double>();
            Assert.True(Math.Abs(a - e) <= 1e-5 * Math.Max(Math.Abs(e), 1e-12), $"entry {i}: expected {e:R}, got {a:R}");
        }
    }
}
