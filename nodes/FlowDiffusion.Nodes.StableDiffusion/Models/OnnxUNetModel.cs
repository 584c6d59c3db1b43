using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Adapter;
using FlowDiffusion.Nodes.StableDiffusion.Control;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;
using FlowDiffusion.Sdk.Values;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// A UNet as the SDK's model handle: one batched evaluation per call. The handle is a description (file, weight
/// overrides, options) whose session the cache creates when needed, so <see cref="WithOverrides"/> derives a handle
/// with changed weights. Calls are serialised because the wrapper reuses its pinned step buffers. A call whose extras
/// carry ControlNets (<see cref="ControlStack"/>) acting at its timestep runs them and the controlled UNet graph beside
/// the plain one (same weights and overrides), adding their residuals; a call whose extras carry an IP-Adapter image prompt
/// (<see cref="ImagePrompt"/>) acting at its timestep runs the IP-adapted graph beside it likewise.
/// </summary>
internal sealed class OnnxUNetModel(string name, UNet unet, int? sampleSize = null, OnnxSessionCache? sessions = null) : IUNetModel, IOverridableModel<IUNetModel>, IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Lazy<ControlledUNet> _controlled = new(() => OpenControlled(name, unet, sessions));
    private readonly Lazy<IpAdaptedUNet> _ipAdapted = new(() => OpenIpAdapted(name, unet, sessions));

    public string Name => name;

    public int InChannels => unet.InChannels;

    public int OutChannels => unet.OutChannels;

    public int? NativeImageSize => sampleSize * 8;

    public UNet Model => unet;

    public int? GuidanceEmbeddingWidth => unet.GuidanceEmbeddingWidth;

    public IReadOnlyList<WeightInfo> Weights => unet.Weights;

    public WeightOverrides Overrides => unet.Source.Overrides;

    public IUNetModel WithOverrides(IEnumerable<WeightOverride> overrides) => new OnnxUNetModel(name, unet.WithOverrides(overrides), sampleSize, sessions);

    public async Task<float[]> PredictAsync(DenoiserInput input, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        // Every element is written by the prediction, so the array need not be zeroed first.
        var prediction = GC.AllocateUninitializedArray<float>(shape.Batch * unet.OutChannels * shape.Height * shape.Width);
        await PredictAsync(input, prediction, cancellationToken).ConfigureAwait(false);
        return prediction;
    }

    /// <summary>
    /// Predicts into <paramref name="prediction"/> ([B, out channels, h, w]), so a caller that reuses a buffer (the CFG
    /// guider's rented one) allocates nothing large per sampling step.
    /// </summary>
    public async Task PredictAsync(DenoiserInput input, Memory<float> prediction, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        var context = input.Context;
        if (context.Batch != shape.Batch && context.Batch != 1)
            throw new ArgumentException($"the conditioning has batch {context.Batch} but the latents have batch {shape.Batch}");
        var repeated = context.Batch == shape.Batch ? null : Repeat(context, shape.Batch);
        var (textEmbeds, timeIds) = unet.TakesAddedConditioning ? AddedConditioning(input, unet.TimeIdCount) : (null, null);
        var timestepCond = unet.GuidanceEmbeddingWidth is { } condWidth ? GuidanceEmbedding(input, condWidth) : null;
        var prompt = input.Extras.TryGet(ImagePrompt.Key, out var p) && p.ActsAt(input.Timestep, shape.Batch) ? p : null;
        if (input.Extras.TryGet(ControlStack.Key, out var control) && ControlledPrediction.Active(control, input.Timestep, shape.Batch) is { Count: > 0 } active)
        {
            if (prompt is not null)
            {
                throw new NotSupportedException("a ControlNet and an IP-Adapter acting in the same step are not supported yet; give them separate parts of the schedule (start/end percent)");
            }

            ControlledPrediction.Predict(_controlled.Value, active, input, repeated ?? context.Embeddings.ToArray(), textEmbeds, timeIds, prediction.Span, cancellationToken, timestepCond);
            return;
        }

        if (prompt is not null)
        {
            IpAdaptedPrediction.Predict(_ipAdapted.Value, prompt, input, repeated ?? context.Embeddings.ToArray(), textEmbeds, timeIds, prediction.Span, cancellationToken);
            return;
        }

        var timesteps = new float[shape.Batch];
        Array.Fill(timesteps, input.Timestep);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var before = unet.RunTime;
            // The embeddings go to the pinned input buffer as they are; only a batch-1 conditioning is repeated first.
            ReadOnlySpan<float> hidden = repeated is null ? context.Embeddings : repeated;
            unet.Predict(input.Sample.Span, shape, timesteps, hidden, context.Tokens, textEmbeds, timeIds, timestepCond, prediction.Span, cancellationToken);
            OnnxClock.Add(unet.RunTime - before);
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => unet.Dispose();

    /// <summary>
    /// SDXL's added conditioning for each row: the pooled text embedding the SDXL text encoder attached, and the size
    /// conditioning (time ids) a size node attached (its zero sizes filled in), else diffusers' default for txt2img:
    /// original and target size = the image being made (8 × the latent), crop (0, 0). A refiner's five time ids end in the
    /// aesthetic score instead of the target size; without a refiner node a row gets diffusers' positive default, 6.
    /// </summary>
    private static (float[] TextEmbeds, float[] TimeIds) AddedConditioning(DenoiserInput input, int count)
    {
        var shape = input.Shape;
        if (!input.Extras.TryGet(StandardExtras.PooledText, out var pooled))
        {
            throw new InvalidOperationException("this SDXL UNet needs the pooled text embedding (text_embeds) in its conditioning, which the SDXL model's clip output attaches; encode the prompts with the same model's clip");
        }
        float height = shape.Height * 8, width = shape.Width * 8;
        var refiner = count == SdxlTimeIds.RefinerCount;
        float[] timeIds;
        if (input.Extras.TryGet(StandardExtras.TimeIds, out var ids))
        {
            if (ids.ItemLength != count)
            {
                throw new ArgumentException(refiner
                    ? $"this is an SDXL refiner UNet: its time_ids hold 5 numbers per row (original size, crop top-left, aesthetic score), not {ids.ItemLength}; condition it with conditioning.sdxl_refiner rather than conditioning.sdxl_size"
                    : $"time_ids must hold {count} numbers per row (original size, crop top-left, target size), not {ids.ItemLength}{(ids.ItemLength == SdxlTimeIds.RefinerCount ? "; conditioning.sdxl_refiner is for the refiner, use conditioning.sdxl_size with the base" : string.Empty)}");
            }
            timeIds = Rows(ids, shape.Batch, "time_ids");
            // A size of 0 (the size nodes' default) stands for the image being made.
            var sizes = refiner ? new[] { (0, height), (1, width) } : new[] { (0, height), (1, width), (4, height), (5, width) };
            for (var b = 0; b < shape.Batch; b++)
            {
                foreach (var (index, size) in sizes)
                {
                    if (timeIds[(b * count) + index] == 0f) timeIds[(b * count) + index] = size;
                }
            }
        }
        else
        {
            timeIds = new float[shape.Batch * count];
            var row = refiner ? new[] { height, width, 0f, 0f, SdxlTimeIds.PositiveAestheticScore } : new[] { height, width, 0f, 0f, height, width };
            for (var b = 0; b < shape.Batch; b++) row.CopyTo(timeIds, b * count);
        }
        return (Rows(pooled, shape.Batch, "text_embeds"), timeIds);
    }

    // An LCM-distilled UNet's timestep_cond for each row: the guidance-scale embedding a guider attached.
    private static float[] GuidanceEmbedding(DenoiserInput input, int width)
    {
        if (!input.Extras.TryGet(StandardExtras.TimestepCond, out var embedding))
        {
            throw new InvalidOperationException($"this LCM-distilled UNet needs the guidance-scale embedding (timestep_cond, {width} wide), which guidance.cfg attaches from its scale; guide it with guidance.cfg");
        }
        if (embedding.ItemLength != width)
            throw new ArgumentException($"timestep_cond must hold {width} numbers per row (the UNet's time_cond_proj_dim), not {embedding.ItemLength}");
        return Rows(embedding, input.Shape.Batch, "timestep_cond");
    }

    private static float[] Rows(ExtraTensor tensor, int batch, string name)
    {
        if (tensor.Batch != batch && tensor.Batch != 1)
            throw new ArgumentException($"{name} has batch {tensor.Batch} but the latents have batch {batch}");
        var result = new float[batch * tensor.ItemLength];
        for (var b = 0; b < batch; b++) tensor.ItemOf(b).CopyTo(result.AsSpan(b * tensor.ItemLength));
        return result;
    }

    private static ControlledUNet OpenControlled(string name, UNet unet, OnnxSessionCache? sessions)
    {
        var path = Path.Combine(Path.GetDirectoryName(unet.ModelPath)!, ControlledUNet.FileName);
        if (sessions is null || !File.Exists(path))
        {
            throw new ArgumentException($"the UNet of '{name}' has no graph that takes ControlNet residuals ({path}); ControlNets work on models model.load converts from a .safetensors checkpoint or diffusers folder");
        }

        return ControlledUNet.Open(sessions, new OnnxModelSource(path, unet.Source.Options, unet.Source.Overrides));
    }

    private static IpAdaptedUNet OpenIpAdapted(string name, UNet unet, OnnxSessionCache? sessions)
    {
        var path = Path.Combine(Path.GetDirectoryName(unet.ModelPath)!, IpAdaptedUNet.FileName);
        if (sessions is null || !File.Exists(path))
        {
            throw new ArgumentException($"the UNet of '{name}' has no graph that takes IP-Adapter keys and values ({path}); IP-Adapters work on SD 1.x and SDXL models model.load converts from a .safetensors checkpoint or diffusers folder");
        }

        return IpAdaptedUNet.Open(sessions, new OnnxModelSource(path, unet.Source.Options, unet.Source.Overrides));
    }

    private static float[] Repeat(Conditioning context, int batch)
    {
        var one = context.Embeddings;
        var result = new float[one.Length * batch];
        for (var b = 0; b < batch; b++) one.CopyTo(result.AsSpan(b * one.Length));
        return result;
    }
}
