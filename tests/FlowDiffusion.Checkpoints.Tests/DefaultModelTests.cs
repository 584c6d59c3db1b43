using FlowDiffusion.Checkpoints.Catalog;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// A workflow's default model gives way to the user's own: the newest of the workflow's family in the models folder,
/// at that model's native size; the shipped models otherwise.
/// </summary>
public sealed class DefaultModelTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("flowdiffusion-default-model-").FullName;
    private readonly string _shapes = Path.Combine(Repository, "models", "shapes-sd");

    private static string Repository
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln"))) return dir.FullName;
            throw new InvalidOperationException("FlowDiffusion.sln not found");
        }
    }

    private string Models => Path.Combine(_home, "models");

    [Fact]
    public void Without_a_model_of_the_users_own_the_shipped_default_stands()
    {
        Directory.CreateDirectory(Path.Combine(Models, "checkpoints"));

        Assert.Null(DefaultModel.Pick(Models, _shapes, _home));
    }

    [Fact]
    public void Users_newest_sd1_checkpoint_replaces_the_shipped_model_at_512()
    {
        var older = Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "older-sd1.safetensors", DateTime.UtcNow.AddHours(-2));
        Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "newer-sd1.safetensors", DateTime.UtcNow.AddHours(-1));
        Checkpoint("sdxl-tiny", "sdxl-fp16.safetensors", "newest-xl.safetensors", DateTime.UtcNow);

        var pick = DefaultModel.Pick(Models, _shapes, _home);

        Assert.NotNull(pick);
        Assert.Equal("models/checkpoints/newer-sd1.safetensors", pick.Path);
        Assert.Equal(DefaultModel.Sd1, pick.Family);
        Assert.Equal(512, pick.NativeSize);
        Assert.Contains("newest of 2", pick.Reason);
        Assert.True(File.Exists(older));
    }

    [Fact]
    public void Sdxl_workflow_picks_only_an_sdxl_model_at_1024()
    {
        Checkpoint("sdxl-tiny", "sdxl-fp16.safetensors", "mine-xl.safetensors", DateTime.UtcNow.AddHours(-1));
        Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "mine-sd1.safetensors", DateTime.UtcNow);

        var pick = DefaultModel.Pick(Models, "models/checkpoints/sd_xl_base_1.0.safetensors", _home);

        Assert.NotNull(pick);
        Assert.Equal("models/checkpoints/mine-xl.safetensors", pick.Path);
        Assert.Equal(DefaultModel.Sdxl, pick.Family);
        Assert.Equal(1024, pick.NativeSize);
    }

    [Fact]
    public void Sdxl_workflow_without_an_sdxl_model_keeps_its_default()
    {
        Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "mine-sd1.safetensors", DateTime.UtcNow);

        Assert.Null(DefaultModel.Pick(Models, "models/checkpoints/sd_xl_base_1.0.safetensors", _home));
    }

    [Fact]
    public void Sd2_models_are_a_family_of_their_own_drawn_at_768_when_they_predict_v()
    {
        var sd1 = Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "mine-sd1.safetensors", DateTime.UtcNow.AddHours(-1));
        var sd2 = Checkpoint("sd2-tiny", "sd2-fp16.safetensors", "mine-sd2.safetensors", DateTime.UtcNow);

        // An SD 1.x workflow keeps to SD 1.x models, however new an SD 2.x one is.
        Assert.Equal("models/checkpoints/mine-sd1.safetensors", DefaultModel.Pick(Models, _shapes, _home)?.Path);
        var pick = DefaultModel.Pick(Models, "models/checkpoints/v2-1_768-ema-pruned.safetensors", _home);
        Assert.NotNull(pick);
        Assert.Equal("models/checkpoints/mine-sd2.safetensors", pick.Path);
        Assert.Equal(DefaultModel.Sd2, pick.Family);
        Assert.Equal(768, pick.NativeSize); // the tiny file's weights say v-prediction

        Assert.Equal("SD 2.x (v_prediction; UNet 32/32/32/32, 4 ch; OpenCLIP 128×2; VAE)", ModelCatalog.Describe(sd2, "mine-sd2.safetensors")!.Architecture);
        Assert.StartsWith("SD 1.x (", ModelCatalog.Describe(sd1, "mine-sd1.safetensors")!.Architecture, StringComparison.Ordinal);
        File.Delete(sd1);
        Assert.Null(DefaultModel.Pick(Models, _shapes, _home));
    }

    [Fact]
    public void Default_that_is_the_users_own_model_is_kept()
    {
        var mine = Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "chosen.safetensors", DateTime.UtcNow.AddHours(-1));
        Checkpoint("sd1-tiny", "ldm-fp16.safetensors", "newer.safetensors", DateTime.UtcNow);

        Assert.Null(DefaultModel.Pick(Models, mine, _home));
    }

    [Fact]
    public void Shipped_test_model_copied_into_the_models_folder_is_not_the_users_own()
    {
        // A models folder laid out as shipped: its manifest names tiny-sd, which is therefore never picked.
        Directory.CreateDirectory(Models);
        File.WriteAllText(Path.Combine(Models, "manifest.json"), """{ "tiny-sd/model_index.json": "0" }""");
        CopyTree(Path.Combine(Repository, "models", "tiny-sd"), Path.Combine(Models, "tiny-sd"));

        Assert.Null(DefaultModel.Pick(Models, Path.Combine(Models, "tiny-sd"), _home));
        CopyTree(Path.Combine(Repository, "models", "tiny-sd"), Path.Combine(Models, "my-model"));
        var pick = DefaultModel.Pick(Models, Path.Combine(Models, "tiny-sd"), _home);
        Assert.Equal("models/my-model", pick?.Path);
        Assert.Equal(512, pick?.NativeSize); // its unet/config.json: sample_size 64 latents
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);

    private string Checkpoint(string data, string file, string name, DateTime written)
    {
        var target = Path.Combine(Models, "checkpoints", name);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "TestData", data, file), target);
        File.SetLastWriteTimeUtc(target, written);
        return target;
    }

    private static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (var folder in Directory.GetDirectories(source)) CopyTree(folder, Path.Combine(target, Path.GetFileName(folder)));
    }
}
