using System.Text.Json.Nodes;
using FlowDiffusion.Client;

namespace FlowDiffusion.Server.Tests;

/// <summary><c>GET /api/models</c> lists the configured models folder as <c>flowdiffusion models</c> does, and only that folder.</summary>
public sealed class ModelListApiTests : IDisposable
{
    private static readonly string Data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // A working folder with models/checkpoints/tiny.safetensors (the tiny SD 1.x checkpoint), models/loras/style/a.safetensors
    // (a kohya LoRA), and a checkpoint beside the models folder that must not be listed.
    private Task<ApiHost> StartAsync()
    {
        var models = Path.Combine(_folder.Path, "models");
        Copy(Path.Combine(Data, "ldm-fp16.safetensors"), Path.Combine(models, "checkpoints", "tiny.safetensors"));
        Copy(Path.Combine(Data, "lora", "kohya-a.safetensors"), Path.Combine(models, "loras", "style", "a.safetensors"));
        Copy(Path.Combine(Data, "ldm-fp16.safetensors"), Path.Combine(_folder.Path, "outside.safetensors"));
        return ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:WorkingFolder", _folder.Path), ("FlowDiffusion:ModelsFolder", "models"));
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }

    [Fact]
    public async Task Models_lists_the_checkpoint_and_lora_with_kind_architecture_precision_and_size_by_workflow_path()
    {
        await using var host = await StartAsync();

        var models = JsonNode.Parse(await host.Client.GetStringAsync("/api/models"))!["models"]!.AsArray();

        Assert.Equal(["models/checkpoints/tiny.safetensors", "models/loras/style/a.safetensors"], models.Select(m => m!["path"]!.GetValue<string>()));
        var checkpoint = models[0]!;
        Assert.Equal("checkpoint", checkpoint["kind"]!.GetValue<string>());
        Assert.Equal("SD 1.x (UNet 64/32, 4 ch; CLIP 64×2; VAE)", checkpoint["architecture"]!.GetValue<string>());
        Assert.Contains("F16", checkpoint["precision"]!.GetValue<string>());
        Assert.Equal(new FileInfo(Path.Combine(Data, "ldm-fp16.safetensors")).Length, checkpoint["bytes"]!.GetValue<long>());
        var lora = models[1]!;
        Assert.Equal(("lora", "LoRA"), (lora["kind"]!.GetValue<string>(), lora["architecture"]!.GetValue<string>()));
        Assert.Equal(new FileInfo(Path.Combine(Data, "lora", "kohya-a.safetensors")).Length, lora["bytes"]!.GetValue<long>());
    }

    [Fact]
    public async Task Models_lists_an_sdxl_checkpoint_and_lora_dropped_into_the_models_folder_as_sdxl()
    {
        var sdxl = Path.Combine(Data, "..", "sdxl-tiny");
        var models = Path.Combine(_folder.Path, "models");
        Copy(Path.Combine(sdxl, "sdxl-fp16.safetensors"), Path.Combine(models, "checkpoints", "sdxl.safetensors"));
        Copy(Path.Combine(sdxl, "lora", "kohya-a.safetensors"), Path.Combine(models, "loras", "sdxl-a.safetensors"));
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:Server:WorkingFolder", _folder.Path), ("FlowDiffusion:ModelsFolder", "models"));

        var listed = await new FlowDiffusionClient(host.Client).ListModelsAsync();

        Assert.Equal(
            [("models/checkpoints/sdxl.safetensors", "checkpoint"), ("models/loras/sdxl-a.safetensors", "lora")],
            listed.Select(m => (m.Path, m.Kind)));
        Assert.StartsWith("SDXL (", listed[0].Architecture, StringComparison.Ordinal);
        Assert.Equal("LoRA (SDXL)", listed[1].Architecture);
    }

    [Fact]
    public async Task Models_ignores_any_path_in_the_query()
    {
        await using var host = await StartAsync();

        var models = JsonNode.Parse(await host.Client.GetStringAsync("/api/models?path=..&dir=" + Uri.EscapeDataString(_folder.Path)))!["models"]!.AsArray();

        Assert.Equal(2, models.Count);
        Assert.DoesNotContain(models, m => m!["path"]!.GetValue<string>().Contains("outside", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Models_is_empty_when_the_models_folder_does_not_exist()
    {
        await using var host = await ApiHost.StartAsync(_folder.Path, ("FlowDiffusion:ModelsFolder", Path.Combine(_folder.Path, "nosuch")));

        Assert.Empty(JsonNode.Parse(await host.Client.GetStringAsync("/api/models"))!["models"]!.AsArray());
    }

    [Fact]
    public async Task Client_lists_the_models_typed()
    {
        await using var host = await StartAsync();

        var models = await new FlowDiffusionClient(host.Client).ListModelsAsync();

        Assert.Equal(
            [("models/checkpoints/tiny.safetensors", "checkpoint"), ("models/loras/style/a.safetensors", "lora")],
            models.Select(m => (m.Path, m.Kind)));
        Assert.StartsWith("SD 1.x", models[0].Architecture, StringComparison.Ordinal);
        Assert.True(models[1].Bytes > 0);
    }
}
