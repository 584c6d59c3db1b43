using FlowDiffusion.Engine.Execution;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// clip.encode's clip_skip reaches the text encoder: an ONNX export without a penultimate output (tiny-sd, as Optimum
/// writes them) is refused with an error naming the node, the model and the way to get clip skip.
/// </summary>
public sealed class ClipSkipTests
{
    private static string Workflow(int clipSkip) => $$"""
        flowdiffusion: 1
        name: clip-skip
        nodes:
          model: { node: model.load, with: { path: models/tiny-sd } }
          tokens: { node: clip.tokenize, in: { tokenizer: model.tokenizer }, with: { text: a red circle } }
          encode: { node: clip.encode, in: { clip: model.clip, tokens: tokens.tokens }, with: { clip_skip: {{clipSkip}} } }
        """;

    [Fact]
    public async Task Clip_skip_2_on_an_export_without_a_penultimate_output_names_the_model_and_says_to_import_the_checkpoint()
    {
        var run = await SdEngine.Shared.RunYamlAsync(Workflow(2), new Dictionary<string, object?>());

        run.AssertFailed("encode", Path.Combine("tiny-sd", "text_encoder", "model.onnx"), "penultimate_hidden_state", "flowdiffusion import");
    }

    [Fact]
    public async Task Clip_skip_1_is_the_last_layer_and_runs_on_any_export()
    {
        var run = (await SdEngine.Shared.RunYamlAsync(Workflow(1), new Dictionary<string, object?>())).AssertCompleted();

        Assert.NotNull(run.Result.Output("encode", "conditioning"));
    }
}
