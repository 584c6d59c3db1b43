using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// OnnxStack's model folder (as its ModelFactory reads one): <c>unet/</c>, <c>text_encoder/</c>, <c>vae_decoder/</c>,
/// <c>vae_encoder/</c> each with <c>model.onnx</c>, no <c>model_index.json</c>, no scheduler configuration and no CLIP
/// vocabulary (OnnxStack's tokenizer is an ONNX graph, <c>tokenizer/model.onnx</c>, or one beside the application).
/// Generated from tiny-sd's graphs, it must draw exactly what tiny-sd draws.
/// </summary>
public sealed class OnnxStackLayoutTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task An_onnxstack_folder_draws_what_the_same_graphs_draw_as_a_diffusers_onnx_folder()
    {
        var model = OnnxStackCopy("tiny-onnxstack");
        var inputs = new Dictionary<string, object?> { ["steps"] = "3", ["width"] = "64", ["height"] = "64", ["prompt"] = "a red cat" };
        var reference = (await SdEngine.Shared.RunYamlAsync(Txt2Img(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd"), ""), inputs)).AssertCompleted();
        var onnxStack = (await SdEngine.Shared.RunYamlAsync(Txt2Img(model, "models/tiny-sd/tokenizer"), inputs)).AssertCompleted();

        Assert.Equal(reference.Image().Pixels.ToArray(), onnxStack.Image().Pixels.ToArray());
        // Img2img needs the encoder: found without an index naming it.
        Assert.NotNull(Assert.IsAssignableFrom<IVae>(onnxStack.Result.Output("model", "vae")));
        var schedule = Assert.IsType<SchedulerConfigSource>(onnxStack.Result.Output("model", "scheduler_config"));
        Assert.Contains("\"beta_schedule\": \"scaled_linear\"", schedule.Json);
        Assert.Contains("\"beta_end\": 0.012", schedule.Json);
    }

    [Fact]
    public async Task An_onnxstack_folder_without_a_tokenizer_anywhere_fails_naming_where_to_put_one()
    {
        var model = OnnxStackCopy("no-tokenizer");
        var run = await SdEngine.Shared.RunYamlAsync(Txt2Img(model, Path.Combine(_folder.Path, "nowhere")), new Dictionary<string, object?>());
        run.AssertFailed("model", "vocab.json", "nowhere");
    }

    // tiny-sd's component graphs in OnnxStack's layout, with the ONNX tokenizer OnnxStack would read (never opened here).
    private string OnnxStackCopy(string name)
    {
        var target = Path.Combine(_folder.Path, name);
        foreach (var part in new[] { "unet", "text_encoder", "vae_decoder", "vae_encoder" })
        {
            Directory.CreateDirectory(Path.Combine(target, part));
            File.Copy(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd", part, "model.onnx"), Path.Combine(target, part, "model.onnx"));
        }
        Directory.CreateDirectory(Path.Combine(target, "tokenizer"));
        File.WriteAllBytes(Path.Combine(target, "tokenizer", "model.onnx"), [8, 7]);
        return target;
    }

    private static string Txt2Img(string model, string tokenizer) => $$"""
        flowdiffusion: 1
        name: onnxstack
        inputs:
          prompt: { type: string, default: a cat }
          steps: { type: int, default: 2 }
          width: { type: int, default: 64 }
          height: { type: int, default: 64 }
        nodes:
          model: { node: model.load, with: { path: "{{model}}", tokenizer_folder: "{{tokenizer}}", embeddings: "" } }
          tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: $prompt } }
          empty: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: "" } }
          positive: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens } }
          negative: { node: clip.encode, in: { clip: model.clip, tokens: empty.tokens } }
          denoiser: { node: unet.denoiser, in: { unet: model.unet } }
          guider: { node: guidance.cfg, in: { denoiser: denoiser.denoiser, positive: positive.conditioning, negative: negative.conditioning }, with: { scale: 5 } }
          schedule: { node: diffusion.scheduler, in: { config: model.scheduler_config }, with: { name: euler, steps: $steps } }
          noise: { node: latent.noise, with: { seed: 3, width: $width, height: $height } }
          sample: { node: diffusion.sample, in: { guider: guider.guider, schedule: schedule.schedule, noise: noise.noise } }
          decode: { node: vae.decode, in: { vae: model.vae, latent: sample.latent } }
        """;
}
