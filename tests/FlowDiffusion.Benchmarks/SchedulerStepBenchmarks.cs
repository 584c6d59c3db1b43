using BenchmarkDotNet.Attributes;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Benchmarks;

/// <summary>One scheduler step on an SD 1.x latent batch of two, [2, 4, 64, 64] (the CFG-free batch of a 512² image pair).</summary>
[MemoryDiagnoser]
public class SchedulerStepBenchmarks
{
    private const int Length = 2 * 4 * 64 * 64;
    private const int Steps = 30;
    private readonly float[] sample = new float[Length];
    private readonly float[] modelOutput = new float[Length];
    private readonly float[] next = new float[Length];
    private IScheduler scheduler = null!;
    private int position;

    /// <summary>The short scheduler name.</summary>
    [Params("euler", "dpmpp_2m", "ddim")]
    public string Scheduler { get; set; } = "euler";

    /// <summary>Builds the scheduler from the SD 1.x configuration and fills the tensors.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var config = new SchedulerConfig
        {
            NumTrainTimesteps = 1000,
            BetaStart = 0.00085,
            BetaEnd = 0.012,
            BetaSchedule = "scaled_linear",
            StepsOffset = 1,
            SetAlphaToOne = false,
            ClipSample = false,
        };
        scheduler = SchedulerCatalog.Create(Scheduler, config);
        var random = new Random(1);
        for (var i = 0; i < Length; i++)
        {
            sample[i] = (float)random.NextDouble() * 2 - 1;
            modelOutput[i] = (float)random.NextDouble() * 2 - 1;
        }

        Restart();
    }

    /// <summary>One step; the schedule restarts every <see cref="Steps"/> calls so multistep history stays warm.</summary>
    [Benchmark]
    public void Step()
    {
        if (position == Steps) Restart();
        var t = scheduler.Timesteps[position++];
        scheduler.Step(modelOutput, t, sample, next, null);
    }

    private void Restart()
    {
        scheduler.SetTimesteps(Steps);
        position = 0;
    }
}
