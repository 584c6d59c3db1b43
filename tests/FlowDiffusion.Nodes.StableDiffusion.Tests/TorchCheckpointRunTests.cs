using FlowDiffusion.Checkpoints.Catalog;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// A Stable Diffusion checkpoint saved by torch.save as the original .ckpt files are (a Lightning dictionary around the
/// state dict; tools/reference/make_torch_copies.py) loads with model.load and draws, bit for bit, the image of its
/// .safetensors original; the model list shows it as a checkpoint.
/// </summary>
public sealed class TorchCheckpointRunTests
{
    private static readonly string Ckpt = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "torch", "tiny-sd.ckpt");

    [Fact]
    public async Task A_ckpt_checkpoint_draws_the_image_of_its_safetensors_original()
    {
        var run = (await SdEngine.Shared.RunYamlAsync($"""
            flowdiffusion: 1
            name: ckpt
            nodes:
              m1: {"{"} node: model.load, with: {"{"} path: "{Ckpt.Replace('\\', '/')}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              m2: {"{"} node: model.load, with: {"{"} path: "{ModelMergeTests.First.Replace('\\', '/')}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
            {ModelMergeTests.Pipeline("ckpt", "m1.unet", "m1.clip")}
            {ModelMergeTests.Pipeline("original", "m2.unet", "m2.clip", "m2.vae", "m2.tokenizer", "m2.scheduler_config")}
            """, new Dictionary<string, object?>())).AssertCompleted();

        var image = run.Image("ckpt_decode").ToArray();
        Assert.Equal(run.Image("original_decode").ToArray(), image);
        Assert.True(image.Max() - image.Min() > 0.1, "the image must not be flat");
    }

    [Fact]
    public void The_model_list_shows_a_ckpt_as_a_loadable_checkpoint()
    {
        var entry = ModelCatalog.Describe(Ckpt, "checkpoints/tiny-sd.ckpt", "checkpoints")!;
        Assert.Equal(ModelKinds.Checkpoint, entry.Kind);
        Assert.True(entry.IsLoadable);
        Assert.StartsWith("SD 1.x (", entry.Architecture, StringComparison.Ordinal);
        Assert.Equal("F16", entry.Precision);
    }
}
