using FlowDiffusion.Diffusion.LatentOperations;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.operation (ComfyUI's LatentApplyOperation): the node hands its settings to the operation it names, whose
/// arithmetic is checked against torch in FlowDiffusion.Diffusion.Tests (LatentOperationsTests); here the plumbing — the
/// settings reaching the operation, float32 in and out, seeds kept — and the run-time error for a radius the latents are
/// too small for.
/// </summary>
public sealed class LatentOperationNodeTests
{
    [Fact]
    public async Task Runs_the_named_operation_with_its_settings()
    {
        const string yaml = """
            flowdiffusion: 1
            name: operations
            nodes:
              noise: { node: latent.noise, with: { width: 96, height: 64, seed: 4, batch: 2 } }
              tonemap: { node: latent.operation, in: { samples: noise.noise }, with: { operation: tonemap_reinhard, multiplier: 0.7 } }
              sharpen: { node: latent.operation, in: { samples: noise.noise }, with: { operation: sharpen, sharpen_radius: 3, sigma: 0.8, alpha: 0.4 } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        var noise = run.Latent("noise", "noise");
        foreach (var (node, operation) in new (string, LatentOperation)[] { ("tonemap", new ReinhardTonemap(0.7)), ("sharpen", new LatentSharpen(3, 0.8, 0.4)) })
        {
            var expected = noise.Values.ToArray().Select(v => (double)v).ToArray();
            operation.Apply(expected, noise.Batch, noise.Channels, noise.Height, noise.Width);
            var result = run.Latent(node, "latent");
            Assert.Equal(noise.Seeds, result.Seeds);
            var moved = 0.0;
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.Equal((float)expected[i], result.Values[i]);
                moved = Math.Max(moved, Math.Abs(expected[i] - noise.Values[i]));
            }

            Assert.True(moved > 0.1, $"{node} moved the latents by at most {moved}");
        }
    }

    [Fact]
    public async Task A_sharpen_radius_as_large_as_the_latent_fails_naming_it()
    {
        const string yaml = """
            flowdiffusion: 1
            name: small
            nodes:
              noise: { node: latent.noise, with: { width: 64, height: 64, seed: 4 } }
              sharpen: { node: latent.operation, in: { samples: noise.noise }, with: { operation: sharpen, sharpen_radius: 8 } }
            """;
        var run = await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
        Assert.Equal(("sharpen", RunStatus.Failed), (run.Result.FailedNode, run.Result.Status));
        Assert.Contains("sharpen_radius 8 needs latents more than 8 pixels high and wide", run.Result.Error);
    }
}
