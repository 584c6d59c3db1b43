using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowDiffusion.Engine.Execution;
using FlowDiffusion.Engine.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace FlowDiffusion.Server.Tests.Security;

/// <summary>
/// Memory admission reads the model a run names: an SDXL model (its attention starts one level down, with 10 heads,
/// and its weights are counted) is estimated as SDXL, not as an SD 1.x model at the same size.
/// </summary>
public sealed class RunMemoryAdmissionTests : IDisposable
{
    // SDXL base 1.0's published parameter counts, as the float32 the checkpoint conversion writes.
    private static readonly (string Part, long Parameters)[] SdxlParts =
    [
        ("unet", 2_567_463_684), ("text_encoder", 123_060_480), ("text_encoder_2", 694_659_840), ("vae_decoder", 49_490_179), ("vae_encoder", 34_163_592),
    ];

    private readonly TempFolder _folder = new();

    public RunMemoryAdmissionTests() => WriteSdxlFolder(Path.Combine(_folder.Path, "models", "sdxl"));

    public void Dispose() => _folder.Dispose();

    private static long TwentyFourGiB => 24L << 30;

    // A model folder with SDXL base's diffusers configs and weight files of its real sizes, sparse, so they take no disk.
    private static void WriteSdxlFolder(string folder)
    {
        foreach (var (part, parameters) in SdxlParts)
        {
            Directory.CreateDirectory(Path.Combine(folder, part));
            File.WriteAllText(Path.Combine(folder, part, "model.onnx"), "not a graph");
            using var weights = new FileStream(Path.Combine(folder, part, "weights.pb"), FileMode.Create);
            weights.SetLength(parameters * 4);
        }
        File.WriteAllText(Path.Combine(folder, "model_index.json"), """{ "_class_name": "ORTStableDiffusionXLPipeline" }""");
        File.WriteAllText(Path.Combine(folder, "unet", "config.json"), """
            {
              "_class_name": "UNet2DConditionModel",
              "addition_embed_type": "text_time",
              "attention_head_dim": [5, 10, 20],
              "block_out_channels": [320, 640, 1280],
              "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
              "transformer_layers_per_block": [1, 2, 10],
              "sample_size": 128
            }
            """);
        File.WriteAllText(Path.Combine(folder, "vae_decoder", "config.json"), """{ "block_out_channels": [128, 256, 512, 512], "sample_size": 1024 }""");
    }

    private Task<ApiHost> StartAsync() => ApiHost.StartAsync(_folder.Path,
        [.. RepositoryRoot.StableDiffusionSettings,
            ("FlowDiffusion:ModelsFolder", Path.Combine(_folder.Path, "models")),
            ("FlowDiffusion:MaxRunMemory", FlowDiffusionOptions.DefaultMaxRunMemory(TwentyFourGiB).ToString(System.Globalization.CultureInfo.InvariantCulture))]);

    private string Model => Path.Combine(_folder.Path, "models", "sdxl");

    private object Sdxl(int size) => new
    {
        workflow = "sdxl-txt2img",
        inputs = new { model = Model, width = size, height = size, steps = 1 },
    };

    [Fact]
    public async Task Sdxl_at_1024_squared_is_admitted_on_a_24_gib_machine()
    {
        await using var host = await StartAsync();
        var engine = host.Services.GetRequiredService<FlowDiffusionEngine>();
        var validation = engine.Load(Path.Combine(RepositoryRoot.Path, "workflows", "sdxl-txt2img.yaml"),
            new Dictionary<string, object?> { ["model"] = Model, ["width"] = 1024L, ["height"] = 1024L });
        Assert.True(validation.Plan is not null, string.Join("\n", validation.Diagnostics));
        var plan = validation.Plan;
        var estimate = engine.EstimateMemory(plan);
        // 12.9 GiB of weights, attention over 64² tokens with 10 heads (1.25 GiB), the VAE at 1024² (2 GiB + 1 GiB of
        // attention): about 17.2 GiB, under the 18 GiB a 24 GiB machine allows. Read as SD 1.x (16 GiB of attention over 128² tokens) it was refused.
        Assert.Equal($"SDXL read from '{Model}'", estimate.Model);
        Assert.InRange(estimate.Bytes, 17L << 30, 18L << 30);
        Assert.True(RunMemoryEstimate.Of(plan).Bytes > FlowDiffusionOptions.DefaultMaxRunMemory(TwentyFourGiB));

        using var response = await host.Client.PostAsJsonAsync("/api/runs", Sdxl(1024));

        // Admitted: queued (it then fails, its weights being zeros), never refused for memory.
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(1));
        Assert.DoesNotContain("MaxRunMemory", run.ToJsonString());
    }

    [Fact]
    public async Task Sdxl_at_4096_squared_is_a_400_naming_the_limit_and_the_estimate_of_an_sdxl_model()
    {
        await using var host = await StartAsync();

        using var response = await host.Client.PostAsJsonAsync("/api/runs", Sdxl(4096));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("FlowDiffusion:MaxRunMemory", text);
        Assert.Contains("18 GiB allowed per run", text);
        Assert.Contains("SDXL read from", text);
        // 512² latent, attention from 256² = 65,536 tokens, 10 heads of float32, CFG batch 2: 320 GiB.
        Assert.Contains("UNet attention 320 GiB", text);
        Assert.Contains("model weights 12.9 GiB", text);
        Assert.Equal(0, JsonNode.Parse(await host.Client.GetStringAsync("/api/runs"))!["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_run_that_may_read_any_path_is_estimated_from_its_model_outside_the_input_folders()
    {
        // The CLI's runs (and the bench's) read any path: an SDXL model outside models/ must be estimated as the SDXL it
        // is, or a 1024² run of it is refused on a 24 GiB machine as if it were SD 1.x.
        var elsewhere = Path.Combine(_folder.Path, "elsewhere", "sdxl");
        WriteSdxlFolder(elsewhere);
        await using var host = await StartAsync();
        var engine = host.Services.GetRequiredService<FlowDiffusionEngine>();
        var workflow = Path.Combine(RepositoryRoot.Path, "workflows", "sdxl-txt2img.yaml");
        var inputs = new Dictionary<string, object?> { ["model"] = elsewhere, ["width"] = 1024L, ["height"] = 1024L };

        var trusted = engine.Load(workflow, inputs, anyInputPath: true);
        var served = engine.Load(workflow, inputs);

        Assert.True(trusted.Plan is not null, string.Join("\n", trusted.Diagnostics));
        Assert.Equal($"SDXL read from '{elsewhere}'", engine.EstimateMemory(trusted.Plan, anyInputPath: true).Model);
        // A server's run stays confined to its input folders: the estimate does not read the model (nor probe whether it
        // exists), assumes SD 1.x's shape, and that is over the limit at 1024².
        Assert.Null(served.Plan);
        Assert.Contains(served.Diagnostics, d => d.Message.Contains("SD 1.x assumed", StringComparison.Ordinal) && d.Message.Contains("FlowDiffusion:MaxRunMemory", StringComparison.Ordinal));
    }
}
