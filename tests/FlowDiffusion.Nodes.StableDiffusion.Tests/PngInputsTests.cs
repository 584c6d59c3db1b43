using System.Text.Json;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>The inputs JSON a saved PNG carries: every resolved input, typed as the workflow declares it.</summary>
public sealed class PngInputsTests
{
    [Fact]
    public async Task Png_carries_every_resolved_input_with_its_json_type_and_exact_text()
    {
        using var engine = new SdEngine();
        const string prompt = "a \"café\" ☕ on\na new line \\ ok";
        var run = (await engine.RunFileAsync("txt2img.yaml", Inputs.Of("tiny-sd", prompt, steps: 1, cfg: 6.25, karras: true).With("seed", "4000000000"))).AssertCompleted();

        using var saved = JsonDocument.Parse(PngChunks.Read(Assert.Single(run.Result.OutputFiles)).Text["flowdiffusion.inputs"]);
        var inputs = saved.RootElement;

        Assert.Equal(["model", "prompt", "negative", "seed", "steps", "cfg", "scheduler", "karras", "width", "height", "batch"],
            inputs.EnumerateObject().Select(p => p.Name));
        Assert.Equal(prompt, inputs.GetProperty("prompt").GetString());
        Assert.Equal("", inputs.GetProperty("negative").GetString());
        Assert.Equal(4_000_000_000L, inputs.GetProperty("seed").GetInt64());
        Assert.Equal(JsonValueKind.Number, inputs.GetProperty("steps").ValueKind);
        Assert.Equal(6.25, inputs.GetProperty("cfg").GetDouble());
        Assert.Equal(JsonValueKind.True, inputs.GetProperty("karras").ValueKind);
        Assert.Equal(64, inputs.GetProperty("width").GetInt32());
    }
}
