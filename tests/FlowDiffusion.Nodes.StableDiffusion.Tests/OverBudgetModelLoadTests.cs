using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Synthetic;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using FlowDiffusion.Sdk;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// model.load creates every session up front, in parallel, only while the model's weights fit the session budget (8 GiB)
/// together. Past it (SDXL's float32 weights are 14 GB) it opens the model's parts one after another (each reads its
/// signature from a session, which the budget unloads again as the next loads), so no two of them need be resident at
/// once; the VAE decoder, which needs no signature, loads when the decode first uses it.
/// </summary>
public sealed class OverBudgetModelLoadTests : IDisposable
{
    private readonly TempFolder _temp = new();

    [Fact]
    public async Task Model_load_skips_the_parallel_preload_when_the_weights_exceed_the_session_budget_and_the_run_gives_the_same_image()
    {
        var folder = Path.Combine(_temp.Path, "model");
        SyntheticModel.Generate(Sd1Layout.Tiny, folder, Path.Combine(RepositoryRoot.Model("tiny-sd"), "tokenizer"), seed: 1, float16: false);

        var within = await Txt2ImgAsync(folder);
        Assert.Equal(["text_encoder", "unet", "vae_decoder"], LoadMessages(within).Select(m => m.Split(' ')[1]).Order());

        // The UNet's external data grows to 9 GiB, past the budget; the tail is sparse (no disk blocks) and no tensor points into it.
        using (var data = new FileStream(Path.Combine(folder, "unet", DiffusersOnnxFolder.WeightsFile), FileMode.Open, FileAccess.Write))
        {
            data.SetLength(9L << 30);
        }

        var past = await Txt2ImgAsync(folder);
        Assert.Equal(["text_encoder", "unet"], LoadMessages(past).Select(m => m.Split(' ')[1]).Order());
        Assert.Equal(within.Image().ToArray(), past.Image().ToArray());
    }

    public void Dispose() => _temp.Dispose();

    // model.load's "loaded <component> (… MB) in … ms" progress reports: one per session it created.
    private static List<string> LoadMessages(SdRun run) =>
        [.. run.Events.OfType<NodeProgressed>().Where(e => e.NodeId == "model" && e.Progress.Message?.StartsWith("loaded ", StringComparison.Ordinal) == true).Select(e => e.Progress.Message!)];

    // A fresh engine each time (no session survives), with admission opened up: the estimate counts the sparse 9 GiB.
    private async Task<SdRun> Txt2ImgAsync(string model)
    {
        var options = Options.Create(new FlowDiffusionOptions { PluginFolders = [RepositoryRoot.Plugins], MaxRunMemory = 1L << 40 });
        using var engine = new FlowDiffusionEngine(options, new ServiceCollection().BuildServiceProvider());
        var inputs = new Dictionary<string, object?> { ["model"] = model, ["width"] = "64", ["height"] = "64", ["steps"] = "1" };
        var validation = engine.Load(RepositoryRoot.Workflow("txt2img.yaml"), inputs);
        Assert.True(validation.IsValid, string.Join("\n", validation.Diagnostics));
        var run = engine.Start(validation.Plan!, new RunOptions { OutputDirectory = _temp.Path, WorkingDirectory = RepositoryRoot.Path, AnyInputPath = true });
        var events = new List<RunEvent>();
        await foreach (var e in run.ReadEventsAsync()) events.Add(e);
        return new SdRun(await run.Completion, events).AssertCompleted();
    }
}
