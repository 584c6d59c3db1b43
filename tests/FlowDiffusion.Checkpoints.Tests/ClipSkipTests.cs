using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// CLIP skip through the product's text-encoder wrapper on a model imported from the tiny checkpoint, against the
/// torch reference (tools/reference/make_sd1_checkpoints.py): clip_skip 2 is the penultimate layer through the final
/// layer norm, clip_skip 1 the last layer.
/// </summary>
public sealed class ClipSkipTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-clipskip-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Clip_skip_2_on_an_imported_checkpoint_matches_torchs_penultimate_hidden_state_and_clip_skip_1_the_last()
    {
        using var cache = new OnnxSessionCache();
        var encoder = TextEncoder.Open(cache, Import(Reference.LdmFile));
        var ids = Reference.InputIds();

        var skip2 = encoder.Encode(ids, 2, clipSkip: 2);
        var skip1 = encoder.Encode(ids, 2, clipSkip: 1);
        var plain = encoder.Encode(ids, 2);

        Assert.Equal(2, encoder.MaxClipSkip);
        Reference.AssertClose(Reference.Tensor("text_encoder.penultimate_hidden_state"), (skip2.Values, skip2.Shape.Select(d => (long)d).ToArray()), 1e-4, "clip_skip 2");
        Reference.AssertClose(Reference.Tensor("text_encoder.last_hidden_state"), (skip1.Values, skip1.Shape.Select(d => (long)d).ToArray()), 1e-4, "clip_skip 1");
        Assert.Equal(skip1.Values, plain.Values);
        var largest = skip1.Values.Zip(skip2.Values, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(largest > 0.1, $"clip_skip 1 and 2 differ by at most {largest}");
    }

    [Fact]
    public void Clip_skip_beyond_what_the_graph_gives_or_outside_1_to_12_is_refused_naming_the_value()
    {
        using var cache = new OnnxSessionCache();
        var encoder = TextEncoder.Open(cache, Import(Reference.DiffusersFolder));
        var ids = Reference.InputIds();

        Assert.Contains("clip_skip 3", Assert.Throws<NotSupportedException>(() => encoder.Encode(ids, 2, clipSkip: 3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode(ids, 2, clipSkip: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode(ids, 2, clipSkip: 13));
        Assert.Equal(0, encoder.RunCount);
    }

    // What `flowdiffusion import` writes; returns the text encoder's model file.
    private string Import(string checkpointPath)
    {
        var tokenizer = Path.Combine(_scratch, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        File.WriteAllText(Path.Combine(tokenizer, "vocab.json"), "{}");
        File.WriteAllText(Path.Combine(tokenizer, "merges.txt"), "#version: 0.2\n");
        var model = Path.Combine(_scratch, "model");
        // The reference tower has 2 heads at width 64; CLIP-L's convention would say 1, so the test states it.
        using (var checkpoint = Sd1Checkpoint.Open(checkpointPath, textEncoderHeads: 2))
        {
            DiffusersOnnxFolder.Write(checkpoint, model, tokenizer);
        }

        return Path.Combine(model, "text_encoder", "model.onnx");
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }
}
