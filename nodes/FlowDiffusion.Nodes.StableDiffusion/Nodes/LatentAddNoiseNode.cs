using FlowDiffusion.Diffusion.KDiffusion;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>ComfyUI's AddNoise: the sampler's starting noise, scaled by how far the sigmas run, added to the latents.</summary>
[Node("latent.add_noise", "1.0.0", Category = "sampling", Title = "Add Noise",
    Description = "Adds noise as ComfyUI's AddNoise: torch.randn of the batch from a generator seeded with seed (the noise diffusion.ksampler starts from, noise indices included) times |σ₀ − σ_last| of the sigmas (σ₀ for one sigma), so latents noised to the schedule's start can be sampled with add_noise off. The sigmas are explicit or a schedule computed from the model, described as diffusion.ksampler describes them. A value that comes out not finite becomes 0, as ComfyUI's nan_to_num.")]
public sealed class LatentAddNoiseNode : INode
{
    /// <summary>The latents.</summary>
    [Input(Description = "The latents to add noise to.")]
    public Latent? LatentImage { get; set; }

    /// <summary>The model's scheduler configuration.</summary>
    [Input(Description = "The model's scheduler configuration, for a schedule by name (not needed with explicit sigmas).", Optional = true)]
    public SchedulerConfigSource? Config { get; set; }

    /// <summary>The seed.</summary>
    [Parameter(Description = "The noise seed: torch.randn of the whole batch from one generator, as ComfyUI's RandomNoise.", Min = 0, Max = 18446744073709551615d, Kind = ParameterKind.Seed)]
    public ulong Seed { get; set; }

    /// <summary>Explicit sigmas.</summary>
    [Parameter(Description = "Explicit sigmas, comma-separated (falling, or rising as FlipSigmas gives them); when set they replace scheduler, steps and denoise.", Advanced = true)]
    public string Sigmas { get; set; } = "";

    /// <summary>The sigma schedule.</summary>
    [Parameter(Description = "The sigma schedule, as diffusion.ksampler's.", ChoicesFrom = typeof(SigmaScheduleNames))]
    public string Scheduler { get; set; } = "normal";

    /// <summary>Steps.</summary>
    [Parameter(Description = "Steps of the schedule.", Min = 1, Max = 10000)]
    public int Steps { get; set; } = 20;

    /// <summary>Denoise.</summary>
    [Parameter(Description = "The schedule's denoise, as diffusion.ksampler's.", Min = 0, Max = 1, Step = 0.01)]
    public double Denoise { get; set; } = 1;

    /// <summary>The beta schedule's α.</summary>
    [Parameter(Description = "The beta scheduler's α.", Min = 0, Max = 50, Step = 0.01, Advanced = true)]
    public double BetaAlpha { get; set; } = 0.6;

    /// <summary>The beta schedule's β.</summary>
    [Parameter(Description = "The beta scheduler's β.", Min = 0, Max = 50, Step = 0.01, Advanced = true)]
    public double BetaBeta { get; set; } = 0.6;

    /// <summary>First step.</summary>
    [Parameter(Description = "The first step of the schedule (SplitSigmas' low half).", Min = 0, Max = 10000)]
    public int StartStep { get; set; }

    /// <summary>Last step.</summary>
    [Parameter(Description = "The step to stop at (SplitSigmas' high half).", Min = 0, Max = 10000)]
    public int EndStep { get; set; } = 10000;

    /// <summary>Leftover noise.</summary>
    [Parameter(Description = "Keep the sigma end_step stops at rather than 0, as diffusion.ksampler's.")]
    public bool ReturnWithLeftoverNoise { get; set; }

    /// <summary>Edits of the schedule.</summary>
    [Parameter(Description = "ComfyUI's sigma utilities applied after the window, as diffusion.ksampler's sigma_edits.", Advanced = true)]
    public string SigmaEdits { get; set; } = "";

    /// <summary>The noisy latents.</summary>
    [Output(Description = "latent_image + noise · |σ₀ − σ_last|, keeping its noise indices.")]
    public Latent? Latent { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var image = LatentImage!;
        if (string.IsNullOrWhiteSpace(Sigmas) && Config is null)
            throw new ArgumentException("config: a schedule by name is computed from the model's scheduler configuration; link it, or give explicit sigmas");
        var sampling = Config is null ? null : IModelSampling.For(SchedulerConfig.FromJson(Config.Json));
        var sigmas = new SamplerSchedule(Sigmas, Scheduler, Steps, Denoise, false, BetaAlpha, BetaBeta, StartStep, EndStep, ReturnWithLeftoverNoise, SigmaEdits)
            .Resolve(sampling, "euler", minimum: 1, ordered: false);
        if (sigmas.Length == 0)
        {
            Latent = image;
            return Task.CompletedTask;
        }

        // ComfyUI: torch.abs(sigmas[0] − sigmas[-1]) in float32, or sigmas[0] alone.
        var scale = sigmas.Length > 1 ? MathF.Abs(sigmas[0] - sigmas[^1]) : sigmas[0];
        var shape = new LatentShape(image.Batch, image.Channels, image.Height, image.Width);
        var noise = BatchNoise.Draw(Seed, shape, image.NoiseIndices);
        var own = image.Values;
        var values = new float[own.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var value = own[i] + noise[i] * scale;
            values[i] = float.IsFinite(value) ? value : 0;
        }

        Latent = new Latent(image.Batch, image.Channels, image.Height, image.Width, values, image.Seeds) { NoiseIndices = image.NoiseIndices };
        return Task.CompletedTask;
    }
}
