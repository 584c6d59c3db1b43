using FlowDiffusion.Editor.Running;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.Options;

namespace FlowDiffusion.Editor.Tests.Running;

/// <summary>The model picker lists what model.load opens: model folders and .safetensors checkpoints, not LoRAs or VAEs.</summary>
public sealed class EditorModelPickerTests
{
    [Fact]
    public void The_picker_lists_safetensors_checkpoints_beside_model_folders_but_not_loras_vaes_or_embeddings()
    {
        using var home = new TempFolder();
        var models = Path.Combine(home.Path, "models");
        var data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny");
        Copy(Path.Combine(data, "ldm-fp16.safetensors"), Path.Combine(models, "checkpoints", "tiny.safetensors"));
        Copy(Path.Combine(data, "ldm-fp16.safetensors"), Path.Combine(models, "dropped-in.safetensors"));
        Copy(Path.Combine(data, "lora", "kohya-a.safetensors"), Path.Combine(models, "loras", "a.safetensors"));
        Copy(Path.Combine(data, "lora", "kohya-a.safetensors"), Path.Combine(models, "stray-lora.safetensors"));
        Copy(Path.Combine(data, "vae", "swapped-vae.safetensors"), Path.Combine(models, "vae", "v.safetensors"));
        foreach (var file in new[] { "model_index.json", "unet/model.onnx" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(models, "onnx-model", file))!);
            File.WriteAllText(Path.Combine(models, "onnx-model", file), "{}");
        }

        var files = new EditorFiles(Options.Create(new FlowDiffusionOptions { ModelsFolder = models }));
        // A models folder outside the working folder is named by its full path (the form the default-model pick writes).
        var full = Path.GetFullPath(models);

        Assert.Equal([Path.Combine(full, "checkpoints", "tiny.safetensors"), Path.Combine(full, "dropped-in.safetensors"), Path.Combine(full, "onnx-model")], files.Models());
    }

    [Fact]
    public void The_picker_names_each_models_architecture_sdxl_base_and_refiner_beside_sd1()
    {
        using var home = new TempFolder();
        var models = Path.Combine(home.Path, "models");
        var data = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData");
        Copy(Path.Combine(data, "sd1-tiny", "ldm-fp16.safetensors"), Path.Combine(models, "checkpoints", "sd1.safetensors"));
        Copy(Path.Combine(data, "sdxl-tiny", "sdxl-fp16.safetensors"), Path.Combine(models, "checkpoints", "sdxl.safetensors"));
        Copy(Path.Combine(data, "sdxl-refiner-tiny", "refiner-fp16.safetensors"), Path.Combine(models, "checkpoints", "refiner.safetensors"));
        // optimum's SDXL export: a diffusers-ONNX folder with text_encoder_2.
        foreach (var file in new[] { "model_index.json", "unet/model.onnx", "text_encoder/model.onnx", "text_encoder_2/model.onnx" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(models, "sdxl-onnx", file))!);
            File.WriteAllText(Path.Combine(models, "sdxl-onnx", file), "{}");
        }

        var files = new EditorFiles(Options.Create(new FlowDiffusionOptions { ModelsFolder = models }));
        var architectures = files.ModelsWithArchitecture().ToDictionary(m => m.Path[(m.Path.LastIndexOf("models/", StringComparison.Ordinal) + 7)..], m => m.Architecture);

        Assert.Equal(["checkpoints/refiner.safetensors", "checkpoints/sd1.safetensors", "checkpoints/sdxl.safetensors", "sdxl-onnx"], architectures.Keys);
        Assert.StartsWith("SD 1.x (", architectures["checkpoints/sd1.safetensors"], StringComparison.Ordinal);
        Assert.StartsWith("SDXL (", architectures["checkpoints/sdxl.safetensors"], StringComparison.Ordinal);
        Assert.StartsWith("SDXL refiner (", architectures["checkpoints/refiner.safetensors"], StringComparison.Ordinal);
        Assert.Equal("SDXL (diffusers ONNX)", architectures["sdxl-onnx"]);
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        File.Copy(from, to);
    }
}
