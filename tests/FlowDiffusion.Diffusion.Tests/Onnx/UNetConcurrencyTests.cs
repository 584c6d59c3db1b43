using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using FlowDiffusion.Sdk;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

// Holds the process's CPU turn, so other classes' runs may not take it meanwhile.
[Collection(nameof(ProcessWideMeasurements))]
public sealed class UNetConcurrencyTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private readonly OnnxSessionCache _cache = new();

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task Calls_at_the_same_time_each_take_buffers_of_their_own_and_wait_only_for_their_cpu_turn()
    {
        using var unet = UNet.Open(_cache, Path.Combine(models.Folder(AnalyticVariant.Default), "unet", "model.onnx"));
        var shape = UNetTests.Shape;
        var (first, second) = (new float[shape.Length], new float[shape.Length]);

        Task a, b;
        var held = CpuTurns.Take(CancellationToken.None);
        try
        {
            a = Task.Run(() => unet.Predict(UNetTests.Sample(), shape, [500f, 500f], UNetTests.HiddenStates(), 77, first));
            Assert.True(SpinWait.SpinUntil(() => CpuTurns.Waiting == 1, TimeSpan.FromSeconds(10)), "the first call did not ask for a CPU turn");
            b = Task.Run(() => unet.Predict(UNetTests.Sample(), shape, [200f, 200f], UNetTests.HiddenStates(), 77, second));
            // The second call waits for the CPU beside the first, not for the first call's buffers.
            Assert.True(SpinWait.SpinUntil(() => CpuTurns.Waiting == 2, TimeSpan.FromSeconds(10)), "the second call waited for the first before asking for a CPU turn");
        }
        finally
        {
            held.Dispose();
        }
        await Task.WhenAll(a, b);

        Assert.Equal(UNetTests.ClosedForm([500f, 500f]), first.Select(v => (double)v), new UNetTests.Tolerance(2e-5));
        Assert.Equal(UNetTests.ClosedForm([200f, 200f]), second.Select(v => (double)v), new UNetTests.Tolerance(2e-5));
        Assert.Equal(2, unet.BufferAllocations);

        // Both sets are kept: later calls of the shape, one or two at a time, allocate nothing.
        unet.Predict(UNetTests.Sample(), shape, [100f, 100f], UNetTests.HiddenStates(), 77, first);
        await Task.WhenAll(
            Task.Run(() => unet.Predict(UNetTests.Sample(), shape, [300f, 300f], UNetTests.HiddenStates(), 77, first)),
            Task.Run(() => unet.Predict(UNetTests.Sample(), shape, [400f, 400f], UNetTests.HiddenStates(), 77, second)));
        Assert.Equal(2, unet.BufferAllocations);
        Assert.Equal(UNetTests.ClosedForm([300f, 300f]), first.Select(v => (double)v), new UNetTests.Tolerance(2e-5));
        Assert.Equal(UNetTests.ClosedForm([400f, 400f]), second.Select(v => (double)v), new UNetTests.Tolerance(2e-5));
    }
}
