using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Schedulers;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Nodes.StableDiffusion.Sampling;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Values;
using LatentMask = FlowDiffusion.Nodes.StableDiffusion.Sampling.MaskResize;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>What the sampler's previews show.</summary>
public enum PreviewKind
{
    /// <summary>The current noisy latents.</summary>
    Latent,

    /// <summary>The model's current estimate of the final image (predicted x0).</summary>
    PredictedX0,
}

/// <summary>The denoising loop: txt2img from noise, img2img from a strength, inpainting with a mask.</summary>
[Node("diffusion.sample", "1.3.0", Category = "sampling", Title = "Sample",
    Description = "The denoising loop. From noise alone it draws (txt2img); with latent_image and strength < 1 it starts part-way (img2img; strength 0 returns the image); denoising_end stops at that fraction of the schedule and returns the still-noisy latents, and denoising_start continues such latents (latent_image) from that fraction without adding noise — SDXL's base → refiner hand-off, cut as diffusers cuts it; with a mask it repaints only the white part (4-channel UNet: known latents re-imposed every step; 9-channel inpainting UNet: mask and masked-image latents fed as extra channels). Reports every step and, optionally, previews: live previews at latent resolution with the fast linear approximation, or the VAE's images when one is connected.")]
public sealed class SampleNode : INode
{
    /// <summary>The guider.</summary>
    [Input(Description = "The guider (e.g. CFG).")]
    public IGuider? Guider { get; set; }

    /// <summary>The schedule.</summary>
    [Input(Description = "The scheduler and steps.")]
    public ISchedule? Schedule { get; set; }

    /// <summary>The noise.</summary>
    [Input(Description = "Seeded noise (latent.noise).")]
    public Latent? Noise { get; set; }

    /// <summary>Initial latents.</summary>
    [Input(Description = "Latents of an input image (vae.encode) for img2img and inpainting.", Optional = true)]
    public Latent? LatentImage { get; set; }

    /// <summary>The inpainting mask.</summary>
    [Input(Description = "Where to repaint (white = repaint), at image resolution.", Optional = true)]
    public Mask? Mask { get; set; }

    /// <summary>Masked-image latents for 9-channel inpainting UNets.</summary>
    [Input(Description = "Latents of the image with the masked part blanked (inpaint.prepare); needed by 9-channel inpainting UNets.", Optional = true)]
    public Latent? MaskedLatent { get; set; }

    /// <summary>A VAE for decoded previews.</summary>
    [Input(Description = "Decode previews with this VAE instead of the fast linear approximation.", Optional = true)]
    public IVae? Vae { get; set; }

    /// <summary>Denoising strength.</summary>
    [Parameter(Description = "How much of the schedule to run when starting from latent_image: 1 repaints fully, 0 returns it.", Min = 0, Max = 1, Step = 0.01)]
    public double Strength { get; set; } = 1;

    /// <summary>Where in the schedule to start, as a fraction.</summary>
    [Parameter(Description = "Continue latent_image, latents another sampler left with noise (its denoising_end), from this fraction of the schedule, adding no noise: the refiner's side of SDXL's hand-off. It runs the timesteps below round(T − fraction·T) (T = num_train_timesteps; one more for second-order schedulers), as diffusers does. 0 = off; strength must then stay 1.", Min = 0, Max = 1, Step = 0.01, Advanced = true)]
    public double DenoisingStart { get; set; }

    /// <summary>Where in the schedule to stop, as a fraction.</summary>
    [Parameter(Description = "Stop after this fraction of the schedule and return the still-noisy latents, for another sampler to finish with denoising_start: the base's side of SDXL's hand-off. It runs the timesteps at or above round(T − fraction·T), as diffusers does. 1 = run to the end.", Min = 0, Max = 1, Step = 0.01, Advanced = true)]
    public double DenoisingEnd { get; set; } = 1;

    /// <summary>How the mask is brought to latent size.</summary>
    [Parameter(Description = "How the mask is brought to latent size: nearest (binarised at 0.5, each 8×8 block's top-left pixel, as diffusers) or area (the block's average, a soft edge).", Advanced = true)]
    public MaskResizeMethod MaskResize { get; set; } = MaskResizeMethod.Nearest;

    /// <summary>Preview interval.</summary>
    [Parameter(Description = "Publish a preview every N steps (0 = only the final result).", Min = 0, Max = 1000)]
    public int PreviewEvery { get; set; }

    /// <summary>What previews show.</summary>
    [Parameter(Description = "Show the noisy latents or the predicted final image.")]
    public PreviewKind Preview { get; set; } = PreviewKind.Latent;

    /// <summary>The result.</summary>
    [Output(Description = "The denoised latents.")]
    public Latent? Latent { get; set; }

    /// <summary>The previews.</summary>
    [Output(Description = "Preview frames of image 0, one per preview step plus the final result (made only when something reads them).")]
    public Image? Previews { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        using var clock = OnnxClock.Attribute(context);
        var noise = Noise!;
        var guider = Guider!;
        var scheduler = Schedule!.CreateScheduler();
        var shape = new LatentShape(noise.Batch, noise.Channels, noise.Height, noise.Width);
        var timesteps = scheduler.Timesteps;
        var frames = new List<Image>();

        float[]? init = null;
        if (LatentImage is { } image)
        {
            if (image.Channels != shape.Channels || image.Height != shape.Height || image.Width != shape.Width || (image.Batch != 1 && image.Batch != shape.Batch))
                throw new ArgumentException($"latent_image is [{image.Batch}, {image.Channels}, {image.Height}, {image.Width}] but the noise is {shape}; give latent.noise the input image's width and height");
            init = LatentBroadcast.To(image, shape, "latent_image");
        }
        else if (Mask is not null)
        {
            throw new ArgumentException("a mask needs latent_image (the encoded input image) to know what to keep");
        }

        var split = DenoisingFraction.Splits(DenoisingStart);
        if (split && init is null)
            throw new ArgumentException($"denoising_start {DenoisingStart}: connect latent_image, the latents the first sampler returned (its denoising_end)");
        if (split && Strength != 1)
            throw new ArgumentException($"denoising_start {DenoisingStart} decides where sampling starts, so strength ({Strength}) would be ignored; leave strength at 1");
        if (split && Mask is not null)
            throw new ArgumentException("denoising_start continues latents that still carry noise, so there are no clean latents to keep outside a mask; inpaint in one sampler");
        if (split && DenoisingFraction.Splits(DenoisingEnd) && DenoisingStart >= DenoisingEnd)
            throw new ArgumentException($"denoising_start ({DenoisingStart}) must be below denoising_end ({DenoisingEnd})");
        var trainSteps = (scheduler as DiffusersScheduler)?.NoiseSchedule.TrainSteps ?? 1000;
        var start = init is null ? 0
            : split ? DenoisingFraction.StartIndex(timesteps, DenoisingStart, trainSteps, scheduler.Order)
            : DenoisingStrength.StartIndex(Schedule.Steps, Strength, scheduler.Order);
        // denoising_end keeps the leading entries (of those left after the start) at or above its cutoff.
        var stop = DenoisingFraction.Splits(DenoisingEnd) && start < timesteps.Count
            ? start + DenoisingFraction.EndCount(timesteps.Skip(start).ToList(), DenoisingEnd, trainSteps)
            : timesteps.Count;
        if (init is not null && start >= timesteps.Count)
        {
            Latent = new Latent(shape.Batch, shape.Channels, shape.Height, shape.Width, init, noise.Seeds);
            if (context.IsOutputUsed("previews")) Previews = await PreviewAsync(init, shape, cancellationToken);
            context.ReportProgress(NodeProgress.OfSteps(0, 0, split ? $"denoising_start {DenoisingStart}: no timestep left to run" : "strength 0: nothing to denoise"));
            return;
        }

        var x = new float[shape.Length];
        if (init is null)
        {
            var sigma = scheduler.InitNoiseSigma;
            var n = noise.Values;
            for (var i = 0; i < x.Length; i++) x[i] = n[i] * sigma;
        }
        else if (split)
        {
            // The latents already carry the noise of this point in the schedule.
            init.CopyTo(x, 0);
        }
        else
        {
            scheduler.AddNoise(init, noise.Values, timesteps[start], x);
        }

        var inpaintingUNet = guider.InChannels == 9;
        var mask = Mask is null ? null
            : MaskResize == MaskResizeMethod.Area ? LatentMask.Area(Mask, shape.Batch, shape.Height, shape.Width)
            : LatentMask.Nearest(Mask, shape.Batch, shape.Height, shape.Width);
        var extra = inpaintingUNet ? ExtraChannels(mask, shape) : null;
        if (guider.InChannels != 9 && guider.InChannels != shape.Channels)
            throw new ArgumentException($"the UNet takes {guider.InChannels} channels; this sampler feeds 4 (latents) or 9 (inpainting)");
        var modelShape = shape with { Channels = guider.InChannels };
        var noiseSource = new SeededNoise(noise.Seeds ?? Enumerable.Range(0, shape.Batch).Select(i => (ulong)i).ToArray(), shape.ItemLength);

        var total = stop - start;
        var scaled = new float[shape.Length];
        var modelInput = extra is null ? scaled : new float[modelShape.Length];
        var next = new float[shape.Length];
        var known = mask is null || extra is not null ? null : new float[shape.Length];
        // Without a reader of the previews output, frames are only published as they come (an image-size array each).
        var keepFrames = context.IsOutputUsed("previews");
        // For large latents the last step's runs hand the UNet's working memory back before the VAE decode needs its own.
        var releaseAfterLoop = OnnxArenaRelease.AfterLoop(shape);
        for (var i = start; i < stop; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var t = timesteps[i];
            scheduler.ScaleModelInput(x, t, scaled);
            if (extra is not null) InpaintChannels.Append(scaled, extra, shape, modelInput);
            var sigmaNow = scheduler.Sigmas is { } sigmas && i < sigmas.Count ? sigmas[i] : (float?)null;
            var release = i == stop - 1 && releaseAfterLoop ? OnnxArenaRelease.AfterRuns() : (OnnxArenaRelease.Scope?)null;
            float[] prediction;
            try
            {
                prediction = await guider.PredictAsync(new GuidanceInput(modelInput, modelShape, x, t, sigmaNow, i - start, total), cancellationToken);
            }
            finally
            {
                release?.Dispose();
            }
            scheduler.Step(prediction, t, x, next, noiseSource);
            if (known is not null)
            {
                // Re-impose the known region at the noise level of the next step (the original latents after the last).
                if (i + 1 < timesteps.Count) scheduler.AddNoise(init!, noise.Values, timesteps[i + 1], known);
                else init!.CopyTo(known, 0);
                Blend(next, known, mask!, shape);
            }
            (x, next) = (next, x);
            var step = i - start + 1;
            context.ReportProgress(NodeProgress.OfSteps(step, total));
            if (PreviewEvery > 0 && step % PreviewEvery == 0 && step < total)
            {
                var frame = Preview == PreviewKind.PredictedX0 && Schedule.TrainingSigma(t) is { } sigmaT
                    ? PredictedX0(scaled, prediction, sigmaT, shape)
                    : x;
                // With a VAE one decode serves both; the linear approximation is published at latent resolution (what a
                // live view needs, 64× fewer pixels to send) and built at image size only for the strip.
                var decoded = Vae is null ? null : await PreviewAsync(frame, shape, cancellationToken);
                if (keepFrames) frames.Add(decoded ?? await PreviewAsync(frame, shape, cancellationToken));
                context.ReportPreview(decoded ?? LatentRgb.ToImage(frame.AsSpan(0, shape.ItemLength), 1, shape.Channels, shape.Height, shape.Width, upscale: 1));
            }
        }
        Latent = new Latent(shape.Batch, shape.Channels, shape.Height, shape.Width, x, noise.Seeds);
        if (!keepFrames) return;
        frames.Add(await PreviewAsync(x, shape, cancellationToken));
        Previews = Concat(frames);
    }

    private async Task<Image> PreviewAsync(float[] latents, LatentShape shape, CancellationToken cancellationToken)
    {
        var first = latents.AsSpan(0, shape.ItemLength).ToArray();
        if (Vae is { } vae)
            return await vae.DecodeAsync(new Latent(1, shape.Channels, shape.Height, shape.Width, first), cancellationToken);
        return LatentRgb.ToImage(first, 1, shape.Channels, shape.Height, shape.Width);
    }

    private static float[] PredictedX0(float[] scaled, float[] eps, float sigma, LatentShape shape)
    {
        var alphaBar = 1f / (1f + sigma * sigma);
        float a = MathF.Sqrt(alphaBar), s = MathF.Sqrt(1f - alphaBar);
        var x0 = new float[shape.Length];
        for (var i = 0; i < x0.Length; i++) x0[i] = (scaled[i] - s * eps[i]) / a;
        return x0;
    }

    private float[] ExtraChannels(float[]? mask, LatentShape shape)
    {
        if (mask is null || MaskedLatent is null)
            throw new ArgumentException("this UNet is a 9-channel inpainting model: connect mask and masked_latent (inpaint.prepare gives both)");
        return InpaintChannels.Of(mask, LatentBroadcast.To(MaskedLatent, shape, "masked_latent"), shape);
    }

    private static void Blend(float[] sampled, float[] known, float[] mask, LatentShape shape)
    {
        int plane = shape.Height * shape.Width;
        for (var b = 0; b < shape.Batch; b++)
        for (var c = 0; c < shape.Channels; c++)
        for (var p = 0; p < plane; p++)
        {
            var i = (b * shape.Channels + c) * plane + p;
            var m = mask[b * plane + p];
            sampled[i] = m * sampled[i] + (1 - m) * known[i];
        }
    }

    private static Image Concat(List<Image> frames)
    {
        // Previews off: the final frame alone, without copying it.
        if (frames.Count == 1) return frames[0];
        var first = frames[0];
        var pixels = new float[frames.Count * 3 * first.Height * first.Width];
        for (var i = 0; i < frames.Count; i++) frames[i].Pixels.CopyTo(pixels.AsSpan(i * 3 * first.Height * first.Width));
        return new Image(frames.Count, first.Height, first.Width, pixels);
    }
}
