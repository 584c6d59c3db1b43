using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// unet.attention_multiply and clip.attention_multiply (ComfyUI's UNetSelfAttentionMultiply, UNetCrossAttentionMultiply and
/// CLIPAttentionMultiply) on the tiny SD 1.x and SDXL checkpoints: every weight of the result against the closed form
/// (factor · weight for the weights and biases of the named projections, the weight itself otherwise), and all ones the
/// input handle itself.
/// </summary>
public sealed class AttentionMultiplyTests
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");

    [Fact]
    public async Task Each_attention_projection_is_scaled_by_its_factor_and_nothing_else_changes()
    {
        var run = await RunAsync("sd1-tiny/ldm-fp16.safetensors", """
              self: { node: unet.attention_multiply, in: { unet: m.unet }, with: { attention: self, q: 0.5, k: 1.5, v: 2, out: 0.25 } }
              cross: { node: unet.attention_multiply, in: { unet: m.unet }, with: { attention: cross, q: 3, k: 0.8, v: 0, out: 1.2 } }
              clip: { node: clip.attention_multiply, in: { clip: m.clip }, with: { q: 1.1, k: 0.7, v: 4, out: 0.6 } }
              ones: { node: unet.attention_multiply, in: { unet: m.unet }, with: { attention: cross } }
              clip_ones: { node: clip.attention_multiply, in: { clip: m.clip } }
            """);

        var unetFile = OnnxModelFile.Read(ModelMergeTests.ModelFile(run, "m", "unet"));
        var plainUNet = Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(run.Result.Output("m", "unet")).Overrides;
        AssertScaled(unetFile, plainUNet, Overrides(run, "self"), [("attn1.to_q", 0.5), ("attn1.to_k", 1.5), ("attn1.to_v", 2), ("attn1.to_out.0", 0.25)], "self");
        AssertScaled(unetFile, plainUNet, Overrides(run, "cross"), [("attn2.to_q", 3), ("attn2.to_k", 0.8), ("attn2.to_v", 0), ("attn2.to_out.0", 1.2)], "cross");

        var clipFile = OnnxModelFile.Read(ModelMergeTests.ModelFile(run, "m", "text_encoder"));
        var plainClip = Assert.IsAssignableFrom<IOverridableModel<ITextEncoder>>(run.Result.Output("m", "clip")).Overrides;
        var scaledClip = Assert.IsAssignableFrom<IOverridableModel<ITextEncoder>>(run.Result.Output("clip", "clip_out")).Overrides;
        AssertScaled(clipFile, plainClip, scaledClip, [("self_attn.q_proj", 1.1), ("self_attn.k_proj", 0.7), ("self_attn.v_proj", 4), ("self_attn.out_proj", 0.6)], "clip");

        // All ones: the input handles themselves, so the same sessions and pixels.
        Assert.Same(run.Result.Output("m", "unet"), run.Result.Output("ones", "unet_out"));
        Assert.Same(run.Result.Output("m", "clip"), run.Result.Output("clip_ones", "clip_out"));
    }

    [Fact]
    public async Task Sdxl_text_attention_is_scaled_in_both_towers()
    {
        var run = await RunAsync("sdxl-tiny/sdxl-fp16.safetensors", """
              scaled: { node: clip.attention_multiply, in: { clip: m.clip }, with: { q: 1, k: 1, v: 1.5, out: 0.5 } }
              ones: { node: clip.attention_multiply, in: { clip: m.clip } }
            """);
        var tokens = Assert.IsAssignableFrom<ITokenizer>(run.Result.Output("m", "tokenizer")).Tokenize("a red circle");
        async Task<float[]> Encode(string node, string output) =>
            (await Assert.IsAssignableFrom<ITextEncoder>(run.Result.Output(node, output)).EncodeAsync([tokens], CancellationToken.None)).Embeddings.ToArray();

        var plain = await Encode("m", "clip");
        var scaled = await Encode("scaled", "clip_out");
        Assert.Equal(plain, await Encode("ones", "clip_out"));
        // The context's first 32 features of each token come from CLIP ViT-L, the other 32 from OpenCLIP.
        float[] Tower(float[] context, int tower) => [.. context.Where((_, i) => i % 64 / 32 == tower)];
        foreach (var tower in new[] { 0, 1 })
            Assert.True(Tower(plain, tower).Zip(Tower(scaled, tower)).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, $"tower {tower} should be scaled");
    }

    [Theory]
    [InlineData("unet.attention_multiply", "unet: m.unet", "q: 10.5", "q")]
    [InlineData("clip.attention_multiply", "clip: m.clip", "out: -1", "out")]
    [InlineData("unet.attention_multiply", "unet: m.unet", "attention: both", "attention")]
    public void A_value_out_of_range_is_refused_naming_it(string node, string edge, string setting, string name)
    {
        var validation = SdEngine.Shared.Parse($$"""
            flowdiffusion: 1
            name: attention-range
            nodes:
              m: { node: model.load, with: { path: models/tiny-sd } }
              scaled: { node: {{node}}, in: { {{edge}} }, with: { {{setting}} } }
            """, new Dictionary<string, object?>());

        Assert.False(validation.IsValid);
        Assert.Contains(name, string.Join("\n", validation.Diagnostics));
    }

    // Every weight of the graph: the projections' weights and biases factor · their value (float32, then the weight's
    // type: within one float16 rounding of the product), every other weight bound exactly as without the node.
    private static void AssertScaled(OnnxModelFile file, WeightOverrides plain, WeightOverrides scaled, (string Projection, double Factor)[] projections, string what)
    {
        // The node appends its overrides to the input handle's: those before stay, the rest name exactly the projections.
        Assert.Equal(plain.Select(o => o.ToString()), scaled.Take(plain.Count).Select(o => o.ToString()));
        var added = scaled.Skip(plain.Count).Select(o => o.Name).ToList();
        double? FactorOf(string name) => projections
            .Where(p => name.EndsWith(p.Projection + ".weight", StringComparison.Ordinal) || name.EndsWith(p.Projection + ".bias", StringComparison.Ordinal))
            .Select(p => (double?)p.Factor).SingleOrDefault();
        var expected = file.Weights.Select(w => w.Name).Where(n => FactorOf(n) is { } f && f != 1).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, added.Order(StringComparer.Ordinal));
        foreach (var name in expected)
        {
            var before = ModelMergeTests.Bound(plain, file, name);
            var after = ModelMergeTests.Bound(scaled, file, name);
            var f = (float)FactorOf(name)!.Value;
            for (var i = 0; i < before.Length; i++)
            {
                var product = f * before[i];
                Assert.True(Math.Abs(after[i] - product) <= Math.Abs(product) / 1024, $"{what}: {name}[{i}] {after[i]:R} vs {f} · {before[i]:R}");
            }
            Assert.True(before.All(v => v == 0) || !before.SequenceEqual(after), $"{what}: {name} should change");
        }

        Assert.True(projections.All(p => expected.Any(n => n.EndsWith(p.Projection + ".weight", StringComparison.Ordinal))), $"{what}: every projection's weights are scaled");
        Assert.Contains(expected, n => n.EndsWith(projections[3].Projection + ".bias", StringComparison.Ordinal));
    }

    private static WeightOverrides Overrides(SdRun run, string node) =>
        Assert.IsAssignableFrom<IOverridableModel<IUNetModel>>(run.Result.Output(node, "unet_out")).Overrides;

    private static async Task<SdRun> RunAsync(string checkpoint, string nodes) =>
        (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: attention-multiply
            nodes:
              m: {"{"} node: model.load, with: {"{"} path: "{Path.Combine(Data, checkpoint)}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {nodes}
            """, new Dictionary<string, object?>())).AssertCompleted();
}
