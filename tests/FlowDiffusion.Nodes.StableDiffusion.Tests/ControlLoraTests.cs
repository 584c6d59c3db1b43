using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.ControlNet;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

using static FlowDiffusion.Nodes.StableDiffusion.Tests.SdxlControlReference;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// A Control-LoRA (tools/reference/make_sdxl_control_lora.py: Stability AI's layout, rank-2 pairs on every encoder linear and
/// convolution, biases and half the norms in full) on the tiny SDXL checkpoint, through controlnet.load and controlnet.apply:
/// its ControlNet is the model's UNet encoder with the file's weights and changes, as ComfyUI's ControlLora builds it; the
/// prediction matches torch building the same ControlNet.
/// </summary>
public sealed class ControlLoraTests
{
    private static readonly string Data = SdxlControlReference.Data;
    private static readonly string Checkpoint = SdxlControlReference.Checkpoint;
    private static readonly string ControlFolder = SdxlControlReference.ControlFolder;
    private static readonly string ControlLora = Path.Combine(ControlFolder, "control-lora", "control-lora.safetensors");

    [Fact]
    public async Task The_Sdxl_UNet_with_a_Control_LoRA_matches_torch()
    {
        var run = (await RunAsync(ControlLora)).AssertCompleted();
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        var controlled = await PredictAsync(unet, ExtrasOf(run));
        AssertClose(Ref("e2e.controlled"), controlled, 1e-4, "Control-LoRA at 0.6");
        Assert.True(controlled.Zip(Input("e2e.plain").Values).Max(p => Math.Abs(p.First - p.Second)) > 0.1, "the Control-LoRA must move the prediction");
    }

    [Fact]
    public async Task On_a_LoRA_patched_UNet_the_Control_LoRA_copies_the_patched_weights_as_ComfyUI_does()
    {
        var run = (await RunAsync(ControlLora, lora: Path.Combine(Data, "lora", "kohya-a.safetensors"))).AssertCompleted();
        var patched = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("styled", "unet_out"));
        AssertClose(Ref("e2e.lora_controlled"), await PredictAsync(patched, ExtrasOf(run)), 1e-4, "Control-LoRA over the LoRA-patched UNet at 0.6");
        // The plain UNet in the same run still gets the ControlNet made from its own weights.
        var plain = Assert.IsAssignableFrom<IUNetModel>(run.Result.Output("model", "unet"));
        AssertClose(Ref("e2e.controlled"), await PredictAsync(plain, ExtrasOf(run)), 1e-4, "Control-LoRA over the plain UNet at 0.6");
    }

    [Fact]
    public void The_pairs_and_full_weights_take_the_ControlNet_names()
    {
        using var lora = ControlLoraFile.Open(ControlLora);
        Assert.Equal(64, lora.Pairs.Count);
        Assert.Contains("down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k.weight", lora.Pairs.Keys);
        Assert.Contains("add_embedding.linear_1.weight", lora.Pairs.Keys);
        Assert.Contains("controlnet_cond_embedding.conv_in.weight", lora.Full.Keys);
        Assert.Contains("controlnet_down_blocks.0.weight", lora.Full.Keys);
        Assert.Contains("controlnet_mid_block.bias", lora.Full.Keys);
        Assert.Contains("down_blocks.0.resnets.0.conv1.bias", lora.Full.Keys);
        Assert.DoesNotContain(lora.Full.Keys, k => k.EndsWith(".up", StringComparison.Ordinal) || k == ControlLoraFile.MarkerKey);

        // Without a UNet (model-run's --controlnet, a plain ControlNet conversion) it is refused by name.
        var error = Assert.Throws<CheckpointException>(() => ControlNetCheckpoint.Open(ControlLora).Dispose());
        Assert.Contains("a Control-LoRA", error.Message);
        Assert.Contains(ControlLora, error.Message);
    }

    [Theory]
    [InlineData("input_blocks.1.0.in_layers.2.down", "'input_blocks.1.0.in_layers.2.down' is missing beside 'input_blocks.1.0.in_layers.2.up'")]
    [InlineData("output_blocks.0.0.in_layers.2.weight", "'output_blocks.0.0.in_layers.2.weight' fits no ControlNet module")]
    public void A_damaged_Control_LoRA_is_refused_naming_the_tensor(string key, string expected)
    {
        var damaged = Path.Combine(Path.GetTempPath(), $"control-lora-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var file = SafetensorsFile.Open(ControlLora))
            {
                var tensors = file.Tensors.Keys.Where(k => k != key).Select(k => (k, file.Get(k).Shape, file.ReadFloat32(k))).ToList();
                if (!file.Tensors.ContainsKey(key))
                {
                    tensors.Add((key, [4, 4, 3, 3], new float[144]));
                }

                SafetensorsWriter.WriteFloat32(damaged, tensors);
            }

            var error = Assert.Throws<CheckpointException>(() => ControlLoraFile.Open(damaged).Dispose());
            Assert.Contains(damaged, error.Message);
            Assert.Contains(expected, error.Message);
        }
        finally
        {
            File.Delete(damaged);
        }
    }

    [Fact]
    public async Task A_Control_LoRA_for_another_model_is_a_node_error_naming_the_weight()
    {
        // The tiny SD 1.x checkpoint's UNet has other widths: the pairs do not make its weights.
        var sd1 = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors");
        var run = await RunAsync(ControlLora, sd1);
        var unet = Assert.IsAssignableFrom<IUNetModel>(run.AssertCompleted().Result.Output("model", "unet"));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => PredictAsync(unet, ExtrasOf(run), sd1: true));
        Assert.Contains(ControlLora, error.Message);
        Assert.Contains("made for another model", error.Message);
    }

    private static async Task<SdRun> RunAsync(string controlnet, string? checkpoint = null, string? lora = null)
    {
        var styled = lora is null ? "" : $$"""
              styled:
                node: lora.apply
                in: { unet: model.unet, clip: model.clip }
                with: { path: "{{lora}}", strength_model: 0.8, strength_clip: 0 }
            """;
        var yaml = $$"""
            flowdiffusion: 1
            name: control-lora-test
            nodes:
              model:
                node: model.load
                with: { path: "{{checkpoint ?? Checkpoint}}", tokenizer_folder: models/tiny-sd/tokenizer }
              tokens:
                node: clip.tokenize
                in: { tokenizer: model.tokenizer }
                with: { text: a house }
              positive:
                node: clip.encode
                in: { clip: model.clip, tokens: tokens.tokens }
              controlnet:
                node: controlnet.load
                with: { path: "{{controlnet}}" }
              hint:
                node: image.load
                with: { path: "{{Path.Combine(ControlFolder, "hint-a.png")}}" }
              controlled:
                node: controlnet.apply
                in: { conditioning: positive.conditioning, control_net: controlnet.control_net, image: hint.image }
                with: { strength: 0.6 }
            {{styled}}
            """;
        return await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>());
    }

    // The SD 1.x model gets a plain zero conditioning (it fails before predicting); the SDXL one the end-to-end inputs.
    private static async Task<float[]> PredictAsync(IUNetModel unet, Extras extras, bool sd1 = false)
    {
        if (!sd1)
        {
            return await SdxlControlReference.PredictAsync(unet, extras);
        }

        var plain = new Conditioning(1, 77, 64, new float[77 * 64]).WithExtras(extras);
        return await unet.PredictAsync(new DenoiserInput(new float[4 * 8 * 8], new LatentShape(1, 4, 8, 8), 999f, plain), CancellationToken.None);
    }

    private static (float[] Values, long[] Shape) Ref(string name) => Read(Path.Combine(ControlFolder, "control-lora", "reference.safetensors"), name);
}
