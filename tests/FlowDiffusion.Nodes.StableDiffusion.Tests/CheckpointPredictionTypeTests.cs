using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Tests;

/// <summary>
/// model.load's prediction_type for a checkpoint: named, or (auto, the default) read from ComfyUI's v_pred and ztsnr
/// markers, it reaches the scheduler configuration, for SD 1.x and SDXL checkpoints alike.
/// </summary>
public sealed class CheckpointPredictionTypeTests
{
    private static readonly string Checkpoint = Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", "sd1-tiny", "ldm-fp16.safetensors");

    [Fact]
    public async Task A_checkpoint_loaded_as_v_prediction_gets_a_v_prediction_scheduler_config_and_the_default_stays_epsilon()
    {
        var yaml = $"""
            flowdiffusion: 1
            name: prediction
            nodes:
              eps: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer {"}"} {"}"}
              v: {"{"} node: model.load, with: {"{"} path: "{Checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, prediction_type: v_prediction {"}"} {"}"}
            """;
        var run = (await SdEngine.Shared.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        var epsilon = Assert.IsType<SchedulerConfigSource>(run.Result.Output("eps", "scheduler_config"));
        Assert.DoesNotContain("rescale_betas_zero_snr", epsilon.Json);
        var v = Assert.IsType<SchedulerConfigSource>(run.Result.Output("v", "scheduler_config"));
        Assert.Contains("\"prediction_type\": \"epsilon\"", epsilon.Json);
        Assert.Contains("\"prediction_type\": \"v_prediction\"", v.Json);
        Assert.NotEqual(epsilon.Path, v.Path);
    }

    [Theory]
    [InlineData("sd1-tiny/ldm-fp16.safetensors", "v_pred", "auto", "v_prediction", false)]
    [InlineData("sd1-tiny/ldm-fp16.safetensors", "v_pred,ztsnr", "auto", "v_prediction", true)]
    [InlineData("sd1-tiny/ldm-fp16.safetensors", "ztsnr", "auto", "epsilon", false)] // ComfyUI reads ztsnr only beside v_pred
    [InlineData("sd1-tiny/ldm-fp16.safetensors", "v_pred", "epsilon", "epsilon", false)] // a named type wins over the marker
    [InlineData("sdxl-tiny/sdxl-fp16.safetensors", "v_pred,ztsnr", "auto", "v_prediction", true)]
    [InlineData("sdxl-tiny/sdxl-fp16.safetensors", "", "v_prediction", "v_prediction", false)] // SDXL conversions had ignored it
    public async Task Auto_reads_comfyuis_markers_and_every_family_writes_the_type_into_its_scheduler_config(string source, string markers, string requested, string type, bool zeroSnr)
    {
        using var folder = new TempFolder();
        var checkpoint = Path.Combine(folder.Path, "marked.safetensors");
        WithEmptyTensors(Path.Combine(RepositoryRoot.Path, "tests", "FlowDiffusion.Checkpoints.Tests", "TestData", source), checkpoint,
            markers.Split(',', StringSplitOptions.RemoveEmptyEntries));
        var yaml = $"""
            flowdiffusion: 1
            name: prediction
            nodes:
              model: {"{"} node: model.load, with: {"{"} path: "{checkpoint}", tokenizer_folder: models/tiny-sd/tokenizer, prediction_type: {requested} {"}"} {"}"}
            """;
        using var engine = new SdEngine();
        var run = (await engine.RunYamlAsync(yaml, new Dictionary<string, object?>())).AssertCompleted();

        var config = JsonNode.Parse(Assert.IsType<SchedulerConfigSource>(run.Result.Output("model", "scheduler_config")).Json)!;
        Assert.Equal(type, config["prediction_type"]!.GetValue<string>());
        Assert.Equal(zeroSnr, config["rescale_betas_zero_snr"]?.GetValue<bool>() ?? false);
    }

    // A copy of a .safetensors file with empty float tensors added under the names given (as v-pred checkpoints carry them).
    private static void WithEmptyTensors(string source, string target, IEnumerable<string> names)
    {
        var bytes = File.ReadAllBytes(source);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length))!.AsObject();
        var end = bytes.LongLength - 8 - length;
        foreach (var name in names) header[name] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(0), ["data_offsets"] = new JsonArray(end, end) };
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var output = File.Create(target);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        output.Write(prefix);
        output.Write(json);
        output.Write(bytes, 8 + length, bytes.Length - 8 - length);
    }
}
