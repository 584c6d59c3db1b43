using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// latent.blend (ComfyUI's LatentBlend) on noise latents: value by value samples1 · f + samples2 · (1 − f), and a samples2
/// of another size first brought to samples1's by bicubic, centre-cropped resizing — what latent.resize gives with those
/// settings (checked against torch elsewhere).
/// </summary>
public sealed class LatentBlendTests
{
    [Fact]
    public async Task Blend_mixes_by_the_factor_after_a_bicubic_centre_crop_resize()
    {
        const string yaml = """
            flowdiffusion: 1
            name: blend
            nodes:
              a: { node: latent.noise, with: { width: 64, height: 64, seed: 1 } }
              b: { node: latent.noise, with: { width: 64, height: 64, seed: 2 } }
              small: { node: latent.noise, with: { width: 48, height: 32, seed: 3 } }
              same: { node: latent.blend, in: { samples1: a.noise, samples2: b.noise }, with: { blend_factor: 0.3 } }
              other: { node: latent.blend, in: { samples1: a.noise, samples2: small.noise }, with: { blend_factor: 0.25 } }
              resized: { node: latent.resize, in: { latent: small.noise }, with: { width: 64, height: 64, method: bicubic, center_crop: true } }
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();
        Latent Of(string node, string port) => Assert.IsType<Latent>(run.Result.Output(node, port));
        var (a, b, same, other, resized) = (Of("a", "noise"), Of("b", "noise"), Of("same", "blended"), Of("other", "blended"), Of("resized", "resized"));

        for (var i = 0; i < a.Values.Length; i++)
        {
            Assert.Equal(a.Values[i] * 0.3f + b.Values[i] * 0.7f, same.Values[i], 6);
            Assert.Equal(a.Values[i] * 0.25f + resized.Values[i] * 0.75f, other.Values[i], 6);
        }

        Assert.Equal((8, 8), (other.Width, other.Height));
    }
}
