namespace FlowDiffusion.Cli.Tests;

/// <summary><c>run</c> without <c>--set model=</c> uses the user's own model when the models folder holds one, and says which and why.</summary>
public sealed class DefaultModelRunTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fd-cli-default-model-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Run_picks_the_users_checkpoint_over_the_shipped_model_and_says_why()
    {
        var models = Path.Combine(_folder, "models");
        var checkpoint = Path.Combine(models, "checkpoints", "my-sd1.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
        File.Copy(Path.Combine(Cli.RepoRoot, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors"), checkpoint);

        // What it draws with this tiny checkpoint is not the point here (the next test draws with a model folder).
        var (_, _, stderr) = Cli.Run("run", "workflows/txt2img.yaml", "--config", $"FlowDiffusion:ModelsFolder={models}",
            "--set", "steps=1", "--out", Path.Combine(_folder, "out"), "--json");

        Assert.Contains($"model: {checkpoint} (your own SD 1.x model in models/, instead of the workflow's default models/shapes-sd", stderr);
    }

    [Fact]
    public void Run_picks_the_users_model_folder_and_draws_with_it()
    {
        var models = Path.Combine(_folder, "models");
        CopyTree(Path.Combine(Cli.RepoRoot, "models", "tiny-sd"), Path.Combine(models, "my-model"));

        var (exit, stdout, stderr) = Cli.Run("run", "workflows/img2img.yaml", "--config", $"FlowDiffusion:ModelsFolder={models}",
            "--set", "steps=1", "--set", "strength=0.5", "--out", Path.Combine(_folder, "out"), "--json");

        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains($"model: {Path.Combine(models, "my-model")} (your own SD 1.x model in models/", stderr);
        Assert.Contains("at its native size: width=512 height=512", stderr);
        Assert.Contains("\"completed\"", stdout);
    }

    [Fact]
    public void Run_without_a_model_of_the_users_own_uses_shapes_sd_and_says_so()
    {
        var models = Directory.CreateDirectory(Path.Combine(_folder, "models")).FullName;

        var (exit, stdout, stderr) = Cli.Run("run", "workflows/txt2img.yaml", "--config", $"FlowDiffusion:ModelsFolder={models}",
            "--set", "steps=1", "--out", Path.Combine(_folder, "out"), "--json");

        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("model: models/shapes-sd (the workflow's default; no model of your own of its family in", stderr);
    }

    private static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (var folder in Directory.GetDirectories(source)) CopyTree(folder, Path.Combine(target, Path.GetFileName(folder)));
    }
}
