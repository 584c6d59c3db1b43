using FlowDiffusion.Checkpoints.Export;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

public sealed class ExportTests : IDisposable
{
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-export-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Exported_folder_keeps_weights_in_external_data_and_its_unet_still_matches_torch()
    {
        var tokenizer = Path.Combine(_scratch, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        File.WriteAllText(Path.Combine(tokenizer, "vocab.json"), "{}");
        File.WriteAllText(Path.Combine(tokenizer, "merges.txt"), "#version: 0.2\n");
        var target = Path.Combine(_scratch, "model");
        using (var checkpoint = Sd1Checkpoint.Open(Reference.DiffusersFolder))
        {
            DiffusersOnnxFolder.Write(checkpoint, target, tokenizer);
        }

        var unet = Path.Combine(target, "unet", "model.onnx");
        var data = Path.Combine(target, "unet", DiffusersOnnxFolder.WeightsFile);
        // The graph alone is about 200 KB (Deep Shrink's five resize methods are half of it); the weights are over 2 MB.
        Assert.True(new FileInfo(unet).Length < 400_000, $"the graph file should hold no weights ({new FileInfo(unet).Length} bytes)");
        Assert.True(new FileInfo(data).Length > 4 * 500_000, "the weights file should hold the UNet's float32 weights");
        using var session = new InferenceSession(unet);
        var names = session.OutputNames.ToArray();
        var inputs = new[] { ("sample", "unet.sample"), ("timestep", "unet.timestep"), ("encoder_hidden_states", "unet.encoder_hidden_states") }
            .Select(p => (p.Item1, Reference.Floats(Reference.Tensor(p.Item2)))).ToArray();
        using var results = session.Run(new RunOptions(), inputs.Select(i => i.Item1).ToArray(), inputs.Select(i => i.Item2).ToArray(), names);
        Reference.AssertClose(Reference.Tensor("unet.out_sample"), (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape), 1e-4, "out_sample");
        foreach (var input in inputs)
        {
            input.Item2.Dispose();
        }

        Assert.DoesNotContain(Directory.EnumerateDirectories(_scratch), d => d.Contains(".partial-", StringComparison.Ordinal));
        Assert.Throws<IOException>(() =>
        {
            using var again = Sd1Checkpoint.Open(Reference.LdmFile);
            DiffusersOnnxFolder.Write(again, target, tokenizer);
        });
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }
}
