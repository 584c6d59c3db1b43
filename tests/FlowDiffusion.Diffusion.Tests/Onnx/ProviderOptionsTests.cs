using FlowDiffusion.Diffusion.Onnx;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>model.load's provider and provider_options parameters, as session options.</summary>
public sealed class ProviderOptionsTests
{
    [Fact]
    public void Cuda_options_parse_to_a_device_id_and_onnx_runtime_option_names()
    {
        var options = OnnxSessionOptions.Parse("cuda", "device_id=1; cudnn_conv_algo_search=HEURISTIC ;arena_extend_strategy=kSameAsRequested");

        Assert.Equal("cuda", options.Provider);
        Assert.Equal(1, options.DeviceId);
        Assert.Equal("HEURISTIC", options.ProviderOptions["cudnn_conv_algo_search"]);
        Assert.Equal("kSameAsRequested", options.ProviderOptions["arena_extend_strategy"]);
        Assert.False(options.ProviderOptions.ContainsKey("device_id"));
        Assert.Equal("provider=cuda;device=1;threads=0;opt=ORT_ENABLE_ALL;mempattern=False;arena_extend_strategy=kSameAsRequested;cudnn_conv_algo_search=HEURISTIC", options.Describe());
    }

    [Fact]
    public void A_device_suffix_and_separate_options_combine_and_separate_options_win()
    {
        var options = OnnxSessionOptions.Parse("cuda:2", "cudnn_conv_algo_search=DEFAULT");
        var overridden = OnnxSessionOptions.Parse("cuda:cudnn_conv_algo_search=EXHAUSTIVE", "cudnn_conv_algo_search=DEFAULT");

        Assert.Equal(2, options.DeviceId);
        Assert.Equal("DEFAULT", overridden.ProviderOptions["cudnn_conv_algo_search"]);
        Assert.Equal(OnnxSessionOptions.Parse("cpu"), OnnxSessionOptions.Cpu);
    }

    [Fact]
    public void Options_that_differ_are_different_cache_keys()
    {
        Assert.NotEqual(OnnxSessionOptions.Parse("cuda", "cudnn_conv_algo_search=HEURISTIC"), OnnxSessionOptions.Parse("cuda", "cudnn_conv_algo_search=EXHAUSTIVE"));
        Assert.Equal(OnnxSessionOptions.Parse("cuda", "a=1;b=2"), OnnxSessionOptions.Parse("CUDAExecutionProvider", "b=2,a=1"));
    }

    [Theory]
    [InlineData("cuda", "cudnn_conv_algo_search", "'cudnn_conv_algo_search'")]
    [InlineData("cuda", "device_id=first", "device_id must be a non-negative integer")]
    [InlineData(":1", "", "has no name")]
    public void Malformed_options_are_refused_saying_what_is_wrong(string provider, string extra, string expected)
    {
        var error = Assert.Throws<FormatException>(() => OnnxSessionOptions.Parse(provider, extra));

        Assert.Contains(expected, error.Message);
    }
}
