using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Sdk.Values;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Models.Tests;

/// <summary>
/// The product's engine with the Stable Diffusion pack loaded from plugins/, running workflows/txt2img.yaml on
/// models/shapes-sd as the CLI would (paths resolved against the repository root).
/// </summary>
internal sealed class ShapesSdEngine : IDisposable
{
    private readonly TempFolder _outputs = new();
    private readonly FlowDiffusionEngine _engine;

    public ShapesSdEngine(string? outputDirectory = null)
    {
        OutputDirectory = outputDirectory ?? _outputs.Path;
        var options = Options.Create(new FlowDiffusionOptions { PluginFolders = [Path.Combine(RepositoryRoot.Path, "plugins")] });
        _engine = new FlowDiffusionEngine(options, new ServiceCollection().BuildServiceProvider());
    }

    public string OutputDirectory { get; }

    /// <summary>One txt2img picture at the model's native 64×64; size, steps, guidance and scheduler stay at the workflow's defaults unless given.</summary>
    public async Task<Image> DrawAsync(string prompt, int seed, double? cfg = null)
    {
        var inputs = new Dictionary<string, object?>
        {
            ["model"] = "models/shapes-sd",
            ["prompt"] = prompt,
            ["seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (cfg is { } scale) inputs["cfg"] = scale.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var validation = _engine.Load(Path.Combine(RepositoryRoot.Path, "workflows", "txt2img.yaml"), inputs);
        Assert.True(validation.IsValid, string.Join("\n", validation.Diagnostics));
        var run = _engine.Start(validation.Plan!, new RunOptions { OutputDirectory = OutputDirectory, WorkingDirectory = RepositoryRoot.Path });
        await foreach (var _ in run.ReadEventsAsync())
        {
        }

        var result = await run.Completion;
        Assert.True(result.Status == RunStatus.Completed, $"run {result.Status}: {result.FailedNode}: {result.Error}");
        return Assert.IsType<Image>(result.Output("decode", "image"));
    }

    public void Dispose()
    {
        _engine.Dispose();
        _outputs.Dispose();
    }
}
