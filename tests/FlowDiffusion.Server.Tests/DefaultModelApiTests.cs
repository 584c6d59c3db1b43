namespace FlowDiffusion.Server.Tests;

/// <summary>
/// A run submitted without a model uses the user's own model once one is in the models folder, and the run's stored
/// inputs name it; with none there, the workflow's shipped default.
/// </summary>
public sealed class DefaultModelApiTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Run_without_a_model_uses_the_users_own_model_from_the_models_folder()
    {
        var models = Path.Combine(_folder.Path, "my-models");
        CopyTree(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd"), Path.Combine(models, "my-sd"));
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings, ("FlowDiffusion:ModelsFolder", models)]);

        var id = await host.SubmitAsync(new { workflow = "txt2img", inputs = new { steps = 1, width = 64, height = 64 } });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(Path.Combine(models, "my-sd"), run["inputs"]!["model"]!.GetValue<string>());
        Assert.Equal(64, run["inputs"]!["width"]!.GetValue<int>());
    }

    [Fact]
    public async Task Img2img_without_a_model_moves_its_shapes_sd_size_to_the_picked_models_native_size()
    {
        var models = Path.Combine(_folder.Path, "my-models");
        CopyTree(Path.Combine(RepositoryRoot.Path, "models", "tiny-sd"), Path.Combine(models, "my-sd"));
        await using var host = await ApiHost.StartAsync(_folder.Path, [.. RepositoryRoot.StableDiffusionSettings, ("FlowDiffusion:ModelsFolder", models)]);

        var id = await host.SubmitAsync(new { workflow = "img2img", inputs = new { steps = 1, strength = 0.5 } });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(3));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Equal(Path.Combine(models, "my-sd"), run["inputs"]!["model"]!.GetValue<string>());
        Assert.Equal(512, run["inputs"]!["width"]!.GetValue<int>());
        Assert.Equal(512, run["inputs"]!["height"]!.GetValue<int>());
    }

    [Fact]
    public async Task Run_without_a_model_and_no_model_of_the_users_own_uses_the_workflows_default()
    {
        var models = Directory.CreateDirectory(Path.Combine(_folder.Path, "empty-models")).FullName;
        // The shipped models stay readable though the models folder is elsewhere.
        await using var host = await ApiHost.StartAsync(_folder.Path,
            [.. RepositoryRoot.StableDiffusionSettings, ("FlowDiffusion:ModelsFolder", models), ("FlowDiffusion:InputFolders:0", Path.Combine(RepositoryRoot.Path, "models"))]);

        var id = await host.SubmitAsync(new { workflow = "txt2img", inputs = new { steps = 1 } });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));

        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        Assert.Null(run["inputs"]!["model"]);
    }

    private static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        foreach (var folder in Directory.GetDirectories(source)) CopyTree(folder, Path.Combine(target, Path.GetFileName(folder)));
    }
}
