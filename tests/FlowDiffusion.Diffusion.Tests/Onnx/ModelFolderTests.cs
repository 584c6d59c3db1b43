using FlowDiffusion.Diffusion.Onnx;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class ModelFolderTests(AnalyticModels models) : IClassFixture<AnalyticModels>
{
    [Fact]
    public void Open_reads_component_paths_and_vae_scaling_factor()
    {
        var folder = ModelFolder.Open(models.Default);

        Assert.Equal(Path.GetFullPath(models.Default), folder.Path);
        Assert.Equal("OnnxStableDiffusionPipeline", folder.PipelineClass);
        Assert.Equal(Path.Combine(folder.Path, "scheduler", "scheduler_config.json"), folder.SchedulerConfigPath);
        Assert.Equal(Path.Combine(folder.Path, "tokenizer"), folder.TokenizerPath);
        Assert.Equal(Path.Combine(folder.Path, "text_encoder", "model.onnx"), folder.TextEncoderPath);
        Assert.Equal(Path.Combine(folder.Path, "unet", "model.onnx"), folder.UNetPath);
        Assert.Equal(Path.Combine(folder.Path, "vae_encoder", "model.onnx"), folder.VaeEncoderPath);
        Assert.Equal(Path.Combine(folder.Path, "vae_decoder", "model.onnx"), folder.VaeDecoderPath);
        Assert.Equal(0.18215f, folder.VaeScalingFactor);
        Assert.Equal("OnnxRuntimeModel", folder.Components["unet"]);
        Assert.Equal("CLIPTokenizer", folder.Components["tokenizer"]);
        Assert.False(folder.Components.ContainsKey("safety_checker")); // listed as [null, null]
        Assert.False(folder.Components.ContainsKey("_class_name"));
    }

    [Fact]
    public void Pytorch_weights_where_onnx_is_expected_get_an_export_hint()
    {
        var copy = CopyOf(models.Default, "pytorch");
        File.Delete(Path.Combine(copy, "unet", "model.onnx"));
        File.WriteAllBytes(Path.Combine(copy, "unet", "diffusion_pytorch_model.safetensors"), [0]);

        var error = Assert.Throws<FileNotFoundException>(() => ModelFolder.Open(copy));

        Assert.Contains("PyTorch weights", error.Message);
        Assert.Contains("optimum-cli export onnx", error.Message);
    }

    [Fact]
    public void Scaling_factor_falls_back_to_vae_config_then_to_sd_default()
    {
        var copy = CopyOf(models.Default, "scaling");
        File.Delete(Path.Combine(copy, "vae_decoder", "config.json"));
        File.Delete(Path.Combine(copy, "vae_encoder", "config.json"));
        Assert.Equal(ModelFolder.DefaultVaeScalingFactor, ModelFolder.Open(copy).VaeScalingFactor);

        Directory.CreateDirectory(Path.Combine(copy, "vae"));
        File.WriteAllText(Path.Combine(copy, "vae", "config.json"), """{ "_class_name": "AutoencoderKL", "scaling_factor": 0.13025 }""");
        Assert.Equal(0.13025f, ModelFolder.Open(copy).VaeScalingFactor);
    }

    [Fact]
    public void Missing_unet_error_names_the_file_and_the_layout()
    {
        var copy = CopyOf(models.Default, "no-unet");
        File.Delete(Path.Combine(copy, "unet", "model.onnx"));

        var error = Assert.Throws<FileNotFoundException>(() => ModelFolder.Open(copy));

        Assert.Equal(Path.Combine(copy, "unet", "model.onnx"), error.FileName);
        Assert.Contains("unet/model.onnx", error.Message);
        Assert.Contains("model_index.json", error.Message);
        Assert.Contains(copy, error.Message);
    }

    [Fact]
    public void Missing_model_index_is_reported_before_anything_else()
    {
        // Without its UNet too, so that the folder is not OnnxStack's layout (component folders, no model_index.json).
        var copy = CopyOf(models.Default, "no-index");
        File.Delete(Path.Combine(copy, "model_index.json"));
        File.Delete(Path.Combine(copy, "unet", "model.onnx"));

        var error = Assert.Throws<FileNotFoundException>(() => ModelFolder.Open(copy));

        Assert.Equal(Path.Combine(copy, "model_index.json"), error.FileName);
    }

    [Fact]
    public void Missing_folder_error_names_the_folder()
    {
        var missing = Path.Combine(models.Root, "does-not-exist");

        var error = Assert.Throws<DirectoryNotFoundException>(() => ModelFolder.Open(missing));

        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void Folder_without_vae_encoder_opens_and_says_so_when_the_encoder_is_needed()
    {
        var copy = CopyOf(models.Default, "no-encoder");
        Directory.Delete(Path.Combine(copy, "vae_encoder"), recursive: true);

        var folder = ModelFolder.Open(copy);

        Assert.Null(folder.VaeEncoderPath);
        var error = Assert.Throws<FileNotFoundException>(folder.RequireVaeEncoder);
        Assert.Contains("vae_encoder/model.onnx", error.Message);
    }

    [Fact]
    public void Unet_sample_size_is_read_as_an_int_or_the_height_of_a_pair_and_is_null_when_absent()
    {
        var copy = CopyOf(models.Default, "sample-size");
        var config = Path.Combine(copy, "unet", "config.json");
        Assert.Equal(64, ModelFolder.Open(copy).UNetSampleSize);

        File.WriteAllText(config, """{ "_class_name": "UNet2DConditionModel", "sample_size": [96, 128] }""");
        Assert.Equal(96, ModelFolder.Open(copy).UNetSampleSize);

        File.WriteAllText(config, """{ "_class_name": "UNet2DConditionModel" }""");
        Assert.Null(ModelFolder.Open(copy).UNetSampleSize);

        File.Delete(config);
        Assert.Null(ModelFolder.Open(copy).UNetSampleSize);
    }

    private string CopyOf(string source, string name) => models.CopyOf(source, name);
}
