using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>A finished run with every event it streamed.</summary>
internal sealed record SdRun(RunResult Result, IReadOnlyList<RunEvent> Events)
{
    public Image Image(string node = "decode", string output = "image") =>
        Assert.IsType<Image>(Result.Output(node, output));

    public Latent Latent(string node = "sample", string output = "latent") =>
        Assert.IsType<Latent>(Result.Output(node, output));

    public int Started(string node) => Events.OfType<NodeStarted>().Count(e => e.NodeId == node);

    public int CachedCount(string node) => Events.OfType<NodeCached>().Count(e => e.NodeId == node);

    /// <summary>The sampler's progress reports that counted a denoising step.</summary>
    public IReadOnlyList<NodeProgress> Steps(string node = "sample") =>
        Events.OfType<NodeProgressed>().Where(e => e.NodeId == node && e.Progress.Step > 0).Select(e => e.Progress).ToList();

    public SdRun AssertCompleted()
    {
        Assert.True(Result.Status == RunStatus.Completed, $"run {Result.Status}: {Result.FailedNode}: {Result.Error}");
        return this;
    }

    /// <summary>Asserts the run failed at <paramref name="node"/> with an error containing every one of <paramref name="texts"/>.</summary>
    public SdRun AssertFailed(string node, params string[] texts)
    {
        Assert.True(Result.Status == RunStatus.Failed, $"run {Result.Status}, expected a failure at {node}");
        Assert.Equal(node, Result.FailedNode);
        foreach (var text in texts) Assert.Contains(text, Result.Error);
        return this;
    }
}
