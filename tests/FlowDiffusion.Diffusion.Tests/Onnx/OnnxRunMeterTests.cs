using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.ModelGenerator;
using FlowDiffusion.ModelGenerator.Analytic;
using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

public sealed class OnnxRunMeterTests(AnalyticModels models) : IClassFixture<AnalyticModels>, IDisposable
{
    private readonly OnnxSessionCache _cache = new();

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task Each_run_adds_its_own_time_to_the_meter_of_the_work_that_made_it_even_with_one_model_shared()
    {
        using var unet = UNet.Open(_cache, Path.Combine(models.Folder(AnalyticVariant.Default), "unet", "model.onnx"));
        var meters = new[] { new Meter(), new Meter() };

        // Two pieces of work at once, with one model: 3 runs under the first meter, 5 under the second.
        await Task.WhenAll(meters.Select((meter, i) => Task.Run(() =>
        {
            using var scope = OnnxRunMeter.Attribute(meter.Add);
            var prediction = new float[UNetTests.Shape.Length];
            for (var run = 0; run < 3 + 2 * i; run++)
                unet.Predict(UNetTests.Sample(), UNetTests.Shape, [500f, 500f], UNetTests.HiddenStates(), 77, prediction);
        })));
        // Outside any meter a run counts for nobody.
        unet.Predict(UNetTests.Sample(), UNetTests.Shape, [500f, 500f], UNetTests.HiddenStates(), 77);

        Assert.Equal([3, 5], meters.Select(m => m.Runs));
        Assert.All(meters, m => Assert.True(m.Time > TimeSpan.Zero));
        Assert.Equal(9, unet.RunCount);
        Assert.True(meters[0].Time + meters[1].Time < unet.RunTime, "the meters' time includes the run made outside them");
    }

    private sealed class Meter
    {
        private long _ticks;
        private int _runs;

        public int Runs => _runs;

        public TimeSpan Time => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public void Add(TimeSpan elapsed, bool releasedArena)
        {
            Assert.False(releasedArena);
            Interlocked.Add(ref _ticks, elapsed.Ticks);
            Interlocked.Increment(ref _runs);
        }
    }
}
