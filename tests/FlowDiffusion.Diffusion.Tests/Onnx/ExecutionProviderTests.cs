using FlowDiffusion.Diffusion.Onnx;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class ExecutionProviderTests(AnalyticModels models) : IClassFixture<AnalyticModels>
{
    public static TheoryData<string> MissingProviders => new() { "cuda", "directml", "tensorrt", "coreml", "vulkan" };

    [SkippableTheory]
    [MemberData(nameof(MissingProviders))]
    public void Unavailable_provider_error_names_it_and_the_available_ones(string provider)
    {
        var runtimeName = ExecutionProviders.Known.FirstOrDefault(p => p.Name == provider)?.RuntimeName;
        Skip.If(runtimeName is not null && ExecutionProviders.Available.Contains(runtimeName), $"{runtimeName} is installed here.");

        var error = Assert.Throws<ExecutionProviderNotAvailableException>(() => new OnnxSessionOptions(provider).CreateSessionOptions());

        Assert.Equal(provider, error.RequestedProvider);
        Assert.Contains($"'{provider}'", error.Message);
        Assert.Contains("CPUExecutionProvider", error.Message);
        Assert.Contains("OnnxRuntimePackage", error.Message);
        Assert.Contains("CPUExecutionProvider", error.AvailableProviders);
    }

    [SkippableFact]
    public void Cache_refuses_an_unavailable_provider_without_loading_or_evicting()
    {
        Skip.If(ExecutionProviders.Available.Contains("CUDAExecutionProvider"), "CUDA is installed here.");
        var decoder = Path.Combine(models.Default, "vae_decoder", "model.onnx");
        // Room for exactly one session charged its file size: charging a second would unload the idle CPU one.
        using var cache = new OnnxSessionCache(new FileInfo(decoder).Length, null, () => 0);
        var unloaded = 0;
        cache.Unloaded += (_, _) => unloaded++;
        cache.Acquire(decoder).Dispose();

        Assert.Throws<ExecutionProviderNotAvailableException>(() => cache.Acquire(decoder, new OnnxSessionOptions("cuda")));
        Assert.Equal(0, unloaded);
        Assert.Equal(1, cache.Count);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("CPU")]
    [InlineData("CPUExecutionProvider")]
    public void Cpu_is_always_available_under_any_spelling(string provider)
    {
        using var options = new OnnxSessionOptions(provider, IntraOpThreads: 2).CreateSessionOptions();

        Assert.Equal(2, options.IntraOpNumThreads);
        Assert.Equal(new OnnxSessionOptions(), new OnnxSessionOptions(provider));
    }
}
