using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Sdk.Models;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>Optimised models kept on disk between starts, keyed by what they depend on.</summary>
public sealed class OptimizedModelStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "flowdiffusion-optimized-" + Guid.NewGuid().ToString("N"));

    private string Store => Path.Combine(_root, "store");

    [Fact]
    public void The_next_start_loads_the_stored_optimised_model_and_computes_the_same_numbers()
    {
        var model = CopyOfTinyUNet("same");
        var (first, firstOutput) = Start(model);
        var (second, secondOutput) = Start(model);

        Assert.False(first.FromOptimizedModel);
        Assert.True(second.FromOptimizedModel);
        Assert.Equal(firstOutput, secondOutput);
        Assert.Single(Directory.GetFiles(Store, "model.onnx", SearchOption.AllDirectories));
    }

    [Fact]
    public void Changing_the_model_file_or_the_options_invalidates_the_stored_model()
    {
        var model = CopyOfTinyUNet("changed");
        Start(model);

        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(5));
        var (afterTouch, _) = Start(model);
        var (afterTouchAgain, _) = Start(model);
        var (withOtherOptions, _) = Start(model, new OnnxSessionOptions(IntraOpThreads: 1));

        Assert.False(afterTouch.FromOptimizedModel);
        Assert.True(afterTouchAgain.FromOptimizedModel);
        Assert.False(withOtherOptions.FromOptimizedModel);
        // The entry of the file's older version was deleted when the new version's was written.
        Assert.Equal(2, Directory.GetFiles(Store, "model.onnx", SearchOption.AllDirectories).Length);
        Assert.Single(Directory.GetDirectories(Directory.GetDirectories(Store).Single()));
    }

    [Fact]
    public void A_damaged_stored_model_costs_a_slow_start_not_a_failure()
    {
        var model = CopyOfTinyUNet("damaged");
        var (_, expected) = Start(model);
        var stored = Assert.Single(Directory.GetFiles(Store, "model.onnx", SearchOption.AllDirectories));
        File.WriteAllBytes(stored, [0x08, 0x07, 0xff, 0xff]);

        var (loaded, output) = Start(model);
        var (again, _) = Start(model);

        Assert.False(loaded.FromOptimizedModel);
        Assert.Equal(expected, output);
        Assert.True(again.FromOptimizedModel);
    }

    [Fact]
    public void Entries_for_other_options_of_the_same_files_are_kept()
    {
        var model = CopyOfTinyUNet("two-options");
        Start(model);
        Start(model, new OnnxSessionOptions(IntraOpThreads: 1));

        var (first, _) = Start(model);
        var (second, _) = Start(model, new OnnxSessionOptions(IntraOpThreads: 1));

        Assert.True(first.FromOptimizedModel);
        Assert.True(second.FromOptimizedModel);
        Assert.Equal(2, Directory.GetFiles(Store, "model.onnx", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void The_key_names_the_files_the_runtime_version_the_options_and_the_machine()
    {
        var model = CopyOfTinyUNet("key");
        var source = new OnnxModelSource(model, new OnnxSessionOptions(IntraOpThreads: 2));

        var key = OptimizedModelStore.Key(source, OnnxModelFile.Read(model));

        Assert.Contains($"file={model};{new FileInfo(model).Length};", key);
        Assert.Contains("ort=" + OnnxEnvironment.Instance.GetVersionString(), key);
        Assert.Contains("threads=2", key);
        Assert.Contains("machine=", key);
    }

    [Fact]
    public void A_source_with_weight_overrides_is_not_stored()
    {
        var model = CopyOfTinyUNet("overrides");
        var bias = OnnxModelFile.Read(model).ReadWeight("conv_out.bias");
        var source = new OnnxModelSource(model, overrides: WeightOverrides.Of([new TensorOverride("conv_out.bias", bias)]));
        using var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, new OptimizedModelStore(Store));

        cache.Acquire(source).Dispose();

        Assert.False(Directory.Exists(Store) && Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories).Any());
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private (OnnxSessionEvent Loaded, float[] Output) Start(string model, OnnxSessionOptions? options = null)
    {
        using var cache = new OnnxSessionCache(OnnxSessionCache.DefaultBudgetBytes, new OptimizedModelStore(Store));
        OnnxSessionEvent? loaded = null;
        cache.Loaded += (_, e) => loaded = e;
        using var unet = UNet.Open(cache, model, options);
        var shape = new FlowDiffusion.Sdk.Diffusion.LatentShape(1, 4, 8, 8);
        var sample = Enumerable.Range(0, shape.Length).Select(i => MathF.Sin(i * 0.3f)).ToArray();
        var hidden = Enumerable.Range(0, 77 * 32).Select(i => MathF.Cos(i * 0.01f)).ToArray();
        var output = unet.Predict(sample, shape, [500f], hidden, 77);
        return (loaded!, output);
    }

    private string CopyOfTinyUNet(string name)
    {
        var folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        var copy = Path.Combine(folder, "model.onnx");
        File.Copy(Path.Combine(RepositoryModels.TinySd, "unet", "model.onnx"), copy);
        return copy;
    }
}
