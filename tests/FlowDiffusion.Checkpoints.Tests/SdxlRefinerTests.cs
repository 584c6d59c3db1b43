using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// The tiny SDXL refiner (tools/reference/make_sdxl_refiner.py): OpenCLIP as its only embedder, five time ids (original
/// size, crop, aesthetic score), a last level without attention under a deeper middle block — detected from the keys and
/// built into graphs that match torch within 1e-4, and written as a model folder (its img2img pipeline's layout) that opens as a refiner.
/// </summary>
public sealed class SdxlRefinerTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "sdxl-refiner-tiny");

    private static string File => Path.Combine(Folder, "refiner-fp16.safetensors");

    [Fact]
    public void Refiner_shape_is_detected_from_its_keys()
    {
        Assert.Equal(ModelFamily.StableDiffusionXL, SdxlCheckpoint.Detect(File));
        using var checkpoint = SdxlCheckpoint.Open(File);
        Assert.True(checkpoint.IsRefiner);
        Assert.Null(checkpoint.TextEncoder);
        Assert.Equal(new TextEncoderArchitecture(768, 77, 32, 2, 1) { ProjectionWidth = 40 }, checkpoint.TextEncoder2);
        var unet = checkpoint.UNet!;
        Assert.Equal(UNetArchitecture.RefinerTimeIdCount, unet.TimeIds);
        Assert.Equal(40, unet.PooledWidth);
        Assert.Equal(32, unet.ContextWidth);
        Assert.Equal([32, 64, 32], unet.LevelChannels);
        Assert.Equal([0, 1, 0], unet.TransformerDepths);
        Assert.Equal(2, unet.MiddleTransformerDepth);

        using var basis = SdxlCheckpoint.Open(SdxlReference.File);
        Assert.False(basis.IsRefiner);
        Assert.Equal(UNetArchitecture.TimeIdCount, basis.UNet!.TimeIds);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Refiner_folder_has_openclip_alone_and_opens_as_a_refiner_whose_tower_and_unet_match_torch(bool optimumLayout)
    {
        var scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-refiner-" + Guid.NewGuid().ToString("N"));
        try
        {
            var folder = Path.Combine(scratch, "refiner");
            using (var checkpoint = SdxlCheckpoint.Open(File))
            {
                SdxlOnnxFolder.Write(checkpoint, folder, Path.Combine(RepositoryRoot(), "models", "tiny-sd", "tokenizer"), optimumLayout: optimumLayout);
            }

            // The img2img pipeline's layout: tokenizer_2 and text_encoder_2 only, and the index says the first pair is absent.
            Assert.False(Directory.Exists(Path.Combine(folder, "text_encoder")));
            Assert.False(Directory.Exists(Path.Combine(folder, "tokenizer")));
            var model = ModelFolder.Open(folder);
            Assert.True(model.IsSdxlRefiner);
            Assert.Null(model.TextEncoderPath);
            Assert.Equal(Path.Combine(folder, "tokenizer_2"), model.TokenizerPath);
            Assert.Equal((optimumLayout ? "" : "ORT") + "StableDiffusionXLImg2ImgPipeline", model.PipelineClass);
            Assert.True(System.Text.Json.JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(folder, "model_index.json"))).RootElement.GetProperty("requires_aesthetics_score").GetBoolean());
            Assert.Equal(SdxlCheckpoint.ScalingFactor, model.VaeScalingFactor);

            using var cache = new OnnxSessionCache();
            var tower = TextEncoder.Open(cache, model.TextEncoder2Path!);
            var ids = Ids("text_encoder_2.input_ids");
            var states = tower.EncodeOutputs(ids, 2, [tower.RequireSdxlContextOutput(), "text_embeds"]);
            Reference.AssertClose(Tensor("text_encoder_2.hidden_states"), (states[0].Values, [.. states[0].Shape.Select(d => (long)d)]), 1e-4, "OpenCLIP hidden_states[-2]");
            Reference.AssertClose(Tensor("text_encoder_2.text_embeds"), (states[1].Values, [.. states[1].Shape.Select(d => (long)d)]), 1e-4, "text_embeds");

            using var unet = UNet.Open(cache, model.UNetPath);
            Assert.Equal(5, unet.TimeIdCount);
            var prediction = new float[2 * 4 * 8 * 8];
            unet.Predict(Tensor("unet.sample").Values, new LatentShape(2, 4, 8, 8), Tensor("unet.timestep").Values, Tensor("unet.encoder_hidden_states").Values, 16,
                Tensor("unet.text_embeds").Values, Tensor("unet.time_ids").Values, prediction);
            Reference.AssertClose(Tensor("unet.out_sample"), (prediction, [2, 4, 8, 8]), 1e-4, "refiner out_sample");
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "FlowDiffusion.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("FlowDiffusion.sln not found above the test output.");
    }

    [Fact]
    public void Refiner_unet_with_aesthetic_score_time_ids_and_its_tower_match_torch()
    {
        using var checkpoint = SdxlCheckpoint.Open(File);
        var outputs = Reference.Run(
            checkpoint.BuildUNet().ToBytes(),
            ("sample", Reference.Floats(Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(Tensor("unet.time_ids"))));
        Reference.AssertClose(Tensor("unet.out_sample"), outputs["out_sample"], 1e-4, "refiner out_sample");

        var tower = Reference.Run(checkpoint.BuildTextEncoder2().ToBytes(), ("input_ids", OrtValue.CreateTensorValueFromMemory(Ids("text_encoder_2.input_ids"), [2, 77])));
        Reference.AssertClose(Tensor("text_encoder_2.hidden_states"), tower[SdxlTextEncoderGraph.HiddenStatesOutput], 1e-4, "OpenCLIP hidden_states[-2]");
        Reference.AssertClose(Tensor("text_encoder_2.text_embeds"), tower[SdxlTextEncoderGraph.TextEmbedsOutput], 1e-4, "text_embeds");
    }

    private static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    private static int[] Ids(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        }

        return ids;
    }
}
