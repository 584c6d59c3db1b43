using System.Text.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Diffusion.Tests.Schedulers;

/// <summary>The fixtures, dummy model and loop protocols of oracles/schedulers/README.md (sections 2 and 4).</summary>
internal static class SchedulerOracle
{
    private static readonly Dictionary<string, string> ShortNames = new()
    {
        ["DDIMScheduler"] = "ddim",
        ["PNDMScheduler"] = "pndm",
        ["LMSDiscreteScheduler"] = "lms",
        ["EulerDiscreteScheduler"] = "euler",
        ["EulerAncestralDiscreteScheduler"] = "euler_a",
        ["HeunDiscreteScheduler"] = "heun",
        ["DPMSolverMultistepScheduler"] = "dpmpp_2m",
        ["DPMSolverSinglestepScheduler"] = "dpm_single",
        ["UniPCMultistepScheduler"] = "unipc",
        ["DEISMultistepScheduler"] = "deis",
        ["KDPM2DiscreteScheduler"] = "kdpm2",
        ["KDPM2AncestralDiscreteScheduler"] = "kdpm2_a",
        ["DDPMScheduler"] = "ddpm",
    };

    public static JsonNode Load(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "schedulers", file);
        return JsonNode.Parse(File.ReadAllText(path))!;
    }

    public static IScheduler Create(string diffusersClass, JsonNode config) =>
        SchedulerCatalog.Create(ShortNames[diffusersClass], SchedulerConfig.FromJson(config.ToJsonString()));

    /// <summary>sample[b,c,h,w] = k/768 with k = 256c + 32h + 4w + b (b fastest), or the 3-D variant.</summary>
    public static float[] Sample(string fixture, bool noise = false)
    {
        var is3d = fixture == "sample_3d";
        var count = is3d ? 96 : 768;
        var values = new float[count];
        var index = 0;
        for (var b = 0; b < 4; b++)
        for (var c = 0; c < 3; c++)
        for (var h = 0; h < (is3d ? 1 : 8); h++)
        for (var w = 0; w < 8; w++)
        {
            var k = is3d ? 32 * c + 4 * w + b : 256 * c + 32 * h + 4 * w + b;
            values[index++] = noise ? (float)(count - 1 - k) / count : (float)k / count;
        }

        return values;
    }

    /// <summary>model(x, t) = (x·t)/(t + 1), each operation rounded to float32.</summary>
    public static float[] Model(ReadOnlySpan<float> x, float t)
    {
        var result = new float[x.Length];
        var d = t + 1f;
        for (var i = 0; i < x.Length; i++)
        {
            var p = x[i] * t;
            result[i] = p / d;
        }

        return result;
    }

    public static (double Sum, double Mean) Reduce(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (var v in x) sum += Math.Abs((double)v);
        return (sum, sum / x.Length);
    }

    /// <summary>Runs one case of expected.json and returns the final state.</summary>
    public static float[] Run(JsonNode entry)
    {
        var scheduler = Create((string)entry["scheduler"]!, entry["config"]!);
        var steps = (int)entry["num_inference_steps"]!;
        var protocol = (string)entry["protocol"]!;
        var fixture = (string?)entry["fixture"] ?? "sample_4d";
        scheduler.SetTimesteps(steps);
        var x = Sample(fixture);
        switch (protocol)
        {
            case "loop_plain":
                return LoopPlain(scheduler, scheduler.Timesteps, x);
            case "loop_pndm_prk_plms":
                var pndm = (PndmScheduler)scheduler;
                foreach (var t in pndm.PrkTimesteps) pndm.StepPrk(Model(x, t), t, x, x);
                foreach (var t in pndm.PlmsTimesteps) pndm.StepPlms(Model(x, t), t, x, x);
                return x;
            case "loop_scaled_overwrite":
                Scale(x, scheduler.InitNoiseSigma);
                return LoopScaledOverwrite(scheduler, scheduler.Timesteps, x);
            case "loop_pipeline":
                Scale(x, scheduler.InitNoiseSigma);
                return LoopPipeline(scheduler, scheduler.Timesteps, x);
            case "loop_plain_with_noise":
            case "loop_scaled_overwrite_with_noise":
                var scaled = protocol.StartsWith("loop_scaled", StringComparison.Ordinal);
                if (scaled) Scale(x, scheduler.InitNoiseSigma);
                var rest = scheduler.Timesteps.Skip((int)entry["t_start"]! * scheduler.Order).ToArray();
                scheduler.AddNoise(x, Sample(fixture, noise: true), rest[0], x);
                return scaled ? LoopScaledOverwrite(scheduler, rest, x) : LoopPlain(scheduler, rest, x);
            case "loop_plain_skip3":
                return LoopPlain(scheduler, scheduler.Timesteps.Skip(3).ToArray(), x);
            default:
                throw new NotSupportedException($"Protocol {protocol} is not implemented by the test harness.");
        }
    }

    /// <summary>Runs a case's base loop with timesteps set by <paramref name="setTimesteps"/> on a fresh scheduler.</summary>
    public static float[] RunBaseLoop(JsonNode entry, Action<IScheduler> setTimesteps)
    {
        var scheduler = Create((string)entry["scheduler"]!, entry["config"]!);
        setTimesteps(scheduler);
        var x = Sample((string?)entry["fixture"] ?? "sample_4d");
        if (scheduler is SigmaScheduler)
        {
            Scale(x, scheduler.InitNoiseSigma);
            return LoopScaledOverwrite(scheduler, scheduler.Timesteps, x);
        }

        return LoopPlain(scheduler, scheduler.Timesteps, x);
    }

    public static float[] LoopPlain(IScheduler scheduler, IReadOnlyList<float> timesteps, float[] x)
    {
        foreach (var t in timesteps) scheduler.Step(Model(x, t), t, x, x, null);
        return x;
    }

    public static float[] LoopScaledOverwrite(IScheduler scheduler, IReadOnlyList<float> timesteps, float[] x)
    {
        foreach (var t in timesteps)
        {
            scheduler.ScaleModelInput(x, t, x);
            scheduler.Step(Model(x, t), t, x, x, null);
        }

        return x;
    }

    public static float[] LoopPipeline(IScheduler scheduler, IReadOnlyList<float> timesteps, float[] x)
    {
        var input = new float[x.Length];
        foreach (var t in timesteps)
        {
            scheduler.ScaleModelInput(x, t, input);
            scheduler.Step(Model(input, t), t, x, x, null);
        }

        return x;
    }

    public static void Scale(float[] x, float factor)
    {
        for (var i = 0; i < x.Length; i++) x[i] *= factor;
    }

    public static IEnumerable<object[]> Cases(string file) =>
        Load(file) switch
        {
            JsonArray array => array.Select(e => new object[] { (string)e!["id"]! }),
            JsonObject obj => obj.Select(p => new object[] { p.Key }),
            _ => throw new JsonException($"Unexpected layout of {file}."),
        };

    public static JsonNode Case(string file, string id) =>
        Load(file) switch
        {
            JsonArray array => array.First(e => (string)e!["id"]! == id)!,
            var obj => obj[id]!,
        };
}
