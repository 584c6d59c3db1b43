using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.Conversion;
using FlowDiffusion.Engine.Workflows;
using static FlowDiffusion.Comfy.Tests.Prompts;

namespace FlowDiffusion.Comfy.Tests;

/// <summary>
/// SamplerER_SDE → diffusion.ksampler's er_sde with er_sde_solver, max_stage, eta and s_noise (the numerics against the
/// reference in FlowDiffusion.Diffusion.Tests' KSamplerTests): the settings each solver_type passes, as ComfyUI's node sets
/// them, and the pixels through /prompt.
/// </summary>
public sealed partial class CustomSamplingTests
{
    [Theory]
    [InlineData("""{ "solver_type": "ER-SDE", "max_stage": 3, "eta": 0.3, "s_noise": 1 }""", "{}")]
    [InlineData("""{ "solver_type": "ER-SDE", "max_stage": 2, "eta": 1, "s_noise": 0.6 }""", """{ "max_stage": 2, "s_noise": 0.6 }""")]
    [InlineData("""{ "solver_type": "Reverse-time SDE", "max_stage": 3, "eta": 0.5, "s_noise": 0.8 }""", """{ "er_sde_solver": "reverse_time_sde", "eta": 0.5, "s_noise": 0.8 }""")]
    [InlineData("""{ "solver_type": "Reverse-time SDE", "max_stage": 3, "eta": 0, "s_noise": 0.8 }""", """{ "er_sde_solver": "reverse_time_sde", "eta": 0, "s_noise": 0 }""")]
    [InlineData("""{ "solver_type": "ODE", "max_stage": 1, "eta": 2, "s_noise": 1 }""", """{ "er_sde_solver": "ode", "max_stage": 1, "eta": 0, "s_noise": 0 }""")]
    public void Sampler_er_sde_passes_each_solver_types_settings_as_ComfyUI_sets_them(string inputs, string expected)
    {
        var prompt = Advanced(seed: 5, sampler: "euler", scheduler: "karras", cfg: 3);
        prompt["11"] = Node("SamplerER_SDE", (JsonObject)JsonNode.Parse(inputs)!);
        var conversion = ApiPromptConverter.Convert(prompt, new ComfyFolders(RepositoryRoot.Path, RepositoryRoot.Path, RepositoryRoot.Path), requireFiles: false);

        Assert.Empty(conversion.NodeErrors);
        var sampler = Assert.Single(conversion.Workflow!.Nodes, n => n.Type == "diffusion.ksampler");
        Assert.Equal("er_sde", ((LiteralValue)sampler.Parameter("sampler")!.Value).Value);
        var settings = new[] { "er_sde_solver", "max_stage", "eta", "s_noise" }
            .Select(name => (name, sampler.Parameter(name) is { } p ? System.Convert.ToString(((LiteralValue)p.Value).Value, System.Globalization.CultureInfo.InvariantCulture) : null))
            .Where(p => p.Item2 is not null)
            .ToDictionary(p => p.name, p => p.Item2);
        var want = JsonNode.Parse(expected)!.AsObject().ToDictionary(p => p.Key, p => (string?)p.Value!.ToString());
        Assert.Equal(want.OrderBy(p => p.Key), settings.OrderBy(p => p.Key));
    }

    [Fact]
    public async Task Sampler_er_sde_at_its_defaults_equals_ksampler_select_er_sde_and_its_solver_types_show()
    {
        await using var host = await ComfyHost.StartAsync();
        var select = await ImageAsync(host, Advanced(seed: 5, sampler: "er_sde", scheduler: "karras", cfg: 3, steps: 6));
        async Task<byte[]> ErSde(string inputs)
        {
            var prompt = Advanced(seed: 5, sampler: "er_sde", scheduler: "karras", cfg: 3, steps: 6);
            prompt["11"] = Node("SamplerER_SDE", (JsonObject)JsonNode.Parse(inputs)!);
            return await ImageAsync(host, prompt);
        }

        var defaults = await ErSde("""{ "solver_type": "ER-SDE", "max_stage": 3, "eta": 1, "s_noise": 1 }""");
        Assert.Equal(select, defaults);
        // ER-SDE reads no eta; the reverse-time SDE at eta 0 is the ODE.
        Assert.Equal(defaults, await ErSde("""{ "solver_type": "ER-SDE", "eta": 0.2 }"""));
        var ode = await ErSde("""{ "solver_type": "ODE" }""");
        Assert.Equal(ode, await ErSde("""{ "solver_type": "Reverse-time SDE", "eta": 0, "s_noise": 0.5 }"""));
        AssertDiffers(defaults, ode, "ODE");
        AssertDiffers(defaults, await ErSde("""{ "solver_type": "Reverse-time SDE", "eta": 1 }"""), "Reverse-time SDE");
        AssertDiffers(defaults, await ErSde("""{ "max_stage": 1 }"""), "max_stage 1");
        AssertDiffers(defaults, await ErSde("""{ "s_noise": 0.4 }"""), "s_noise 0.4");

        var info = JsonNode.Parse(await host.Client.GetStringAsync("/object_info"))!["SamplerER_SDE"]!;
        Assert.Equal(["solver_type", "max_stage", "eta", "s_noise"], info["input_order"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["ER-SDE", "Reverse-time SDE", "ODE"], info["input"]!["required"]!["solver_type"]![0]!.AsArray().Select(n => n!.GetValue<string>()));
        foreach (var (input, type, value, min, max) in new[] { ("max_stage", "INT", 3.0, 1.0, 3.0), ("eta", "FLOAT", 1, 0, 100), ("s_noise", "FLOAT", 1, 0, 100) })
        {
            var spec = info["input"]!["required"]![input]!;
            Assert.Equal((type, value, min, max), (spec[0]!.GetValue<string>(), spec[1]!["default"]!.GetValue<double>(), spec[1]!["min"]!.GetValue<double>(),
                spec[1]!["max"]!.GetValue<double>()));
        }

        foreach (var (input, value, error) in new (string, JsonNode, string)[]
        {
            ("solver_type", "SDE", "value_not_in_list"), ("max_stage", 4, "value_bigger_than_max"), ("max_stage", 0, "value_smaller_than_min"),
            ("eta", 100.5, "value_bigger_than_max"), ("s_noise", -0.1, "value_smaller_than_min"),
        })
        {
            var prompt = Advanced(seed: 1, sampler: "euler", scheduler: "normal", cfg: 1);
            prompt["11"] = Node("SamplerER_SDE", new JsonObject { [input] = value });
            var (status, body) = await host.PostPromptAsync(prompt);
            Assert.Equal(400, status);
            var found = body["node_errors"]!["11"]!["errors"]![0]!;
            Assert.Equal((error, input), (found["type"]!.GetValue<string>(), found["extra_info"]!["input_name"]!.GetValue<string>()));
        }
    }
}
