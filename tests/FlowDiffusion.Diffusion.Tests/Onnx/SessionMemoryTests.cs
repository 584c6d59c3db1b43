using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>What the session cache charges a session, and the budget kept with those charges.</summary>
// The cache charges the process's resident-set growth during a load: a parallel test's allocations would count too.
[Collection(nameof(ProcessWideMeasurements))]
public sealed class SessionMemoryTests(AnalyticModels models) : IClassFixture<AnalyticModels>
{
    [Fact]
    public void A_session_is_charged_the_memory_measured_around_its_creation_not_its_file_size()
    {
        var model = models.LoneCopy(Path.Combine(models.Default, "vae_decoder", "model.onnx"), "measured");
        var readings = new Queue<long>([1_000_000, 1_000_000 + 7_340_032]);
        using var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, null, () => readings.Dequeue());
        var loaded = new List<OnnxSessionEvent>();
        cache.Loaded += (_, e) => loaded.Add(e);

        using var lease = cache.Acquire(model);

        Assert.Equal(7_340_032, Assert.Single(loaded).Bytes);
        Assert.Equal(7_340_032, cache.LoadedBytes);
        Assert.True(new FileInfo(model).Length < 7_340_032);
    }

    [Fact]
    public void A_session_is_never_charged_less_than_its_weights()
    {
        var model = models.LoneCopy(Path.Combine(models.Default, "vae_decoder", "model.onnx"), "floor");
        using var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, null, () => 0);

        using var lease = cache.Acquire(model);

        Assert.Equal(new FileInfo(model).Length, lease.EstimatedBytes);
    }

    [Fact]
    public void A_budget_below_the_models_total_unloads_and_keeps_the_charge_within_it()
    {
        var components = new[] { "text_encoder", "unet", "vae_decoder" }
            .Select(c => Path.Combine(RepositoryModels.TinySd, c, "model.onnx")).ToArray();
        using var cache = new OnnxSessionCache();
        var unloaded = new List<string>();
        cache.Unloaded += (_, e) => unloaded.Add(e.ModelPath);
        foreach (var component in components) cache.Acquire(component).Dispose();
        var measured = cache.LoadedBytes;

        // Below even the weights' total, which is the least the three can be charged: they never all fit again.
        cache.BudgetBytes = components.Sum(c => OnnxModelFile.Read(c).WeightsBytes) - 1;

        for (var round = 0; round < 2; round++)
        {
            foreach (var component in components)
            {
                using (var lease = cache.Acquire(component))
                {
                    Assert.NotEmpty(lease.Session.InputMetadata);
                }
                Assert.True(cache.LoadedBytes <= cache.BudgetBytes, $"charged {cache.LoadedBytes} over the budget {cache.BudgetBytes} with {cache.Count} sessions after {component} in round {round}");
            }
        }

        Assert.True(measured > cache.BudgetBytes);
        Assert.True(unloaded.Count >= components.Length, $"{unloaded.Count} unloads");
        Assert.True(cache.Count < components.Length);
    }

    [Fact]
    public void A_txt2img_run_under_a_budget_below_the_models_total_stays_within_it_and_gives_the_same_numbers()
    {
        var folder = RepositoryModels.TinySd;
        var paths = new[] { "text_encoder", "unet", "vae_decoder" }.Select(c => Path.Combine(folder, c, "model.onnx")).ToArray();
        var unlimited = Txt2Img(new OnnxSessionCache(), paths, budget: null);
        var weights = paths.Sum(p => OnnxModelFile.Read(p).WeightsBytes);

        // Below the weights' total, so the three never fit together: loading the last evicts an earlier one.
        var budgeted = Txt2Img(new OnnxSessionCache(), paths, budget: weights - 1);

        Assert.Equal(unlimited.Image, budgeted.Image);
        Assert.True(budgeted.Unloads >= 1, $"{budgeted.Unloads} unloads under the budget");
        Assert.Equal(0, unlimited.Unloads);
        Assert.True(budgeted.MaxCharge <= weights - 1, $"charged up to {budgeted.MaxCharge} bytes over the budget {weights - 1}");
        Assert.True(unlimited.MaxCharge > weights - 1, "without a budget the three sessions are charged more than the budget allows");
    }

    // Text encoder, two UNet calls, VAE decode (the order of a txt2img run), the cache's charge read after every call.
    private static (float[] Image, int Unloads, long MaxCharge) Txt2Img(OnnxSessionCache cache, string[] paths, long? budget)
    {
        using (cache)
        {
            if (budget is { } b) cache.BudgetBytes = b;
            var unloads = 0;
            cache.Unloaded += (_, _) => unloads++;
            long max = 0;
            var ids = new int[77];
            Array.Fill(ids, 2);
            ids[0] = 1;
            var hidden = TextEncoder.Open(cache, paths[0]).Encode(ids, batch: 1);
            max = Math.Max(max, cache.LoadedBytes);
            using var unet = UNet.Open(cache, paths[1]);
            var shape = new LatentShape(1, 4, 8, 8);
            var latents = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i)).ToArray();
            for (var step = 0; step < 2; step++)
            {
                var predicted = unet.Predict(latents, shape, [999f - (500 * step)], hidden.Values, 77);
                for (var i = 0; i < latents.Length; i++) latents[i] -= 0.1f * predicted[i];
                max = Math.Max(max, cache.LoadedBytes);
            }

            var image = VaeDecoder.Open(cache, paths[2]).Decode(latents, [1, 4, 8, 8]);
            max = Math.Max(max, cache.LoadedBytes);
            return (image.Values.ToArray(), unloads, max);
        }
    }

    [Fact]
    public void The_estimate_counts_external_data_the_model_names_through_symlinks_and_no_other_file()
    {
        var folder = Path.Combine(models.Root, "hf-cache-layout");
        var blobs = Path.Combine(models.Root, "hf-blobs");
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory(blobs);
        var blob = Path.Combine(blobs, "0123abcd");
        File.WriteAllBytes(blob, [.. new byte[100], .. HandWrittenOnnx.Floats([1, 0, 0, 0, 1, 0])]);
        File.CreateSymbolicLink(Path.Combine(folder, "model.onnx_data"), blob);
        File.WriteAllBytes(Path.Combine(folder, "unrelated.bin"), new byte[50_000]);
        File.WriteAllBytes(Path.Combine(folder, "other_model.onnx_data"), new byte[70_000]);
        var model = new HandWrittenOnnx()
            .Input("x", 1, 2).Output("y", 1, 3)
            .ExternalWeight("w", "model.onnx_data", offset: 100, length: 24, 2, 3)
            .Node("MatMul", ["x", "w"], ["y"])
            .Write(Path.Combine(folder, "model.onnx"));
        using var cache = new OnnxSessionCache();

        Assert.Equal(new FileInfo(model).Length + 124, OnnxModelFile.Read(model).WeightsBytes);
        // ONNX Runtime itself refuses external data that resolves outside the model's folder; the error says what to do.
        var refused = Assert.Throws<OnnxModelLoadException>(() => cache.Acquire(model));
        Assert.Contains("cp -rL", refused.Message);
        Assert.Contains("model.onnx_data", refused.Message);
    }

    [Fact]
    public void Memory_pattern_is_off_and_the_arena_on_by_default()
    {
        using var options = OnnxSessionOptions.Cpu.CreateSessionOptions();

        Assert.False(options.EnableMemoryPattern);
        Assert.True(options.EnableCpuMemArena);
        Assert.NotEqual(OnnxSessionOptions.Cpu, OnnxSessionOptions.Cpu with { MemoryPattern = true });
    }

    [Fact]
    public void Sessions_of_different_models_load_in_parallel_and_each_is_reported_once()
    {
        var paths = Enumerable.Range(0, 3).Select(i => models.LoneCopy(Path.Combine(models.Default, "vae_decoder", "model.onnx"), $"parallel-{i}")).ToArray();
        using var cache = new OnnxSessionCache();
        var loaded = new List<OnnxSessionEvent>();
        cache.Loaded += (_, e) => { lock (loaded) loaded.Add(e); };

        Parallel.ForEach(paths, p => cache.Acquire(p).Dispose());
        cache.Acquire(paths[0]).Dispose();

        Assert.Equal(paths.Order(), loaded.Select(e => e.ModelPath).Order());
        Assert.All(loaded, e => Assert.True(e.Bytes >= new FileInfo(e.ModelPath).Length));
        Assert.Equal(loaded.Sum(e => e.Bytes), cache.LoadedBytes);
    }
}
