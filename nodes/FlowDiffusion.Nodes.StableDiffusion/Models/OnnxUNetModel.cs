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
/// with changed weights. Calls at the same time (two runs sampling with one model) each get step buffers of their own
/// (<see cref="UNet"/>), so nothing here makes them wait: on a CPU they take turns, the oldest run first. A call whose extras
/// carry ControlNets (<see cref="ControlStack"/>) or an IP-Adapter image prompt (<see cref="ImagePrompt"/>) acting at its
/// timestep runs the UNet graph variant beside the plain one (same weights and overrides) that takes their residuals, their
/// keys and values, or both. A handle with FreeU's factors (<see cref="WithFreeU"/>, unet.freeu) feeds them to every call,
/// running <c>unet/model.onnx</c> through <see cref="UNetVariant"/> when nothing else is attached. A call with PAG's row mask (<see cref="PerturbedAttentionMask"/>) feeds it to the graph's
/// <c>pag_mask</c> input, which every graph built since builder version 9 takes. A handle with Deep Shrink
/// (<see cref="WithDeepShrink"/>, unet.deep_shrink) feeds it to the calls whose timestep lies in its window. A call with SAG's
/// record (<see cref="SelfAttentionRecord"/>) runs through <see cref="UNetVariant"/> too, whose graphs since builder version 12
/// return the middle block's self-attention map of the rows it names. A handle with HyperTile (<see cref="WithHyperTile"/>,
/// unet.hypertile) feeds its tiles for each call's latent size to every call; one with ToMe (<see cref="WithTokenMerge"/>,
/// unet.token_merge) feeds its token order likewise. An instruct-pix2pix UNet (8 input channels)
/// reads each row's image latents from the call's extras (<see cref="InstructPix2PixImage"/>) after the 4 channels the
/// sampler gives.
/// </summary>
internal sealed class OnnxUNetModel(string name, UNet unet, int? sampleSize = null, OnnxSessionCache? sessions = null, FreeUFactors? freeU = null,
    DeepShrinkWindow? deepShrink = null, HyperTile? hyperTile = null, TokenMerge? tokenMerge = null) : IUNetModel, IOverridableModel<IUNetModel>, IDisposable
{
    // The graphs opened through UNetVariant on first use: [0] model.onnx itself (for FreeU and Deep Shrink), [1] ControlNet residuals, [2] IP-Adapter, [3] both.
    private readonly Lazy<UNetVariant>[] _variants = [.. Enumerable.Range(0, 4).Select(i => new Lazy<UNetVariant>(() => OpenVariant(name, unet, sessions, (i & 1) != 0, (i & 2) != 0)))];

    public string Name => name;

    // An instruct-pix2pix UNet takes its image latents from the conditioning (InstructPix2PixImage): samplers feed it 4 channels.
    public int InChannels => unet.InChannels == InstructPix2PixImage.UNetChannels ? 4 : unet.InChannels;

    public int OutChannels => unet.OutChannels;

    public int? NativeImageSize => sampleSize * 8;

    public UNet Model => unet;

    public int? GuidanceEmbeddingWidth => unet.GuidanceEmbeddingWidth;

    public IReadOnlyList<WeightInfo> Weights => unet.Weights;

    public WeightOverrides Overrides => unet.Source.Overrides;

    /// <summary>FreeU's factors fed to every call; null: none (the plain UNet).</summary>
    public FreeUFactors? FreeU => freeU;

    /// <summary>Deep Shrink and its window; null: none.</summary>
    public DeepShrinkWindow? DeepShrink => deepShrink;

    /// <summary>HyperTile's settings fed to every call; null: none.</summary>
    public HyperTile? HyperTile => hyperTile;

    public IUNetModel WithOverrides(IEnumerable<WeightOverride> overrides) => new OnnxUNetModel(name, unet.WithOverrides(overrides), sampleSize, sessions, freeU, deepShrink, hyperTile, tokenMerge);

    /// <summary>
    /// The same UNet (weights, overrides) with FreeU's factors fed to every call, replacing any it had; the graph must take
    /// them (<see cref="UNet.TakesFreeU"/>).
    /// </summary>
    public OnnxUNetModel WithFreeU(FreeUFactors factors)
    {
        if (!unet.TakesFreeU || sessions is null)
        {
            throw new ArgumentException($"the UNet of '{name}' ({unet.ModelPath}) takes no FreeU factors: FreeU works on models model.load converts from a .safetensors checkpoint or a diffusers folder (builder version 8 or later). A folder converted by an older version is converted again on its next load; a folder made elsewhere cannot take FreeU");
        }

        return new OnnxUNetModel(name, unet, sampleSize, sessions, factors, deepShrink, hyperTile, tokenMerge);
    }

    /// <summary>
    /// The same UNet with Deep Shrink fed to the calls in its window, replacing any it had; the graph must take it (every
    /// UNet graph model.load builds since builder version 11 does).
    /// </summary>
    public OnnxUNetModel WithDeepShrink(DeepShrinkWindow window)
    {
        if (!unet.TakesDeepShrink || sessions is null)
        {
            throw new ArgumentException($"the UNet of '{name}' ({unet.ModelPath}) takes no Deep Shrink inputs: Deep Shrink works on models model.load converts from a .safetensors checkpoint or a diffusers folder (builder version 11 or later). A folder converted by an older version is converted again on its next load; a folder made elsewhere cannot take it");
        }

        return new OnnxUNetModel(name, unet, sampleSize, sessions, freeU, window, hyperTile, tokenMerge);
    }

    /// <summary>
    /// The same UNet with HyperTile fed to every call, replacing any it had; the graph must take it (every UNet graph
    /// model.load builds since builder version 14 does).
    /// </summary>
    public OnnxUNetModel WithHyperTile(HyperTile settings)
    {
        if (!unet.TakesHyperTile || sessions is null)
        {
            throw new ArgumentException($"the UNet of '{name}' ({unet.ModelPath}) takes no HyperTile tiles: HyperTile works on models model.load converts from a .safetensors checkpoint or a diffusers folder (builder version 14 or later). A folder converted by an older version is converted again on its next load; a folder made elsewhere cannot take it");
        }

        if (tokenMerge is not null) throw new ArgumentException(NotBoth);
        return new OnnxUNetModel(name, unet, sampleSize, sessions, freeU, deepShrink, settings);
    }

    /// <summary>ToMe's ratio fed to every call; null: none.</summary>
    public TokenMerge? TokenMerge => tokenMerge;

    /// <summary>
    /// The same UNet with ToMe fed to every call, replacing any it had; the graph must take it (every UNet graph model.load
    /// builds since builder version 15 does). HyperTile cannot be combined with it.
    /// </summary>
    public OnnxUNetModel WithTokenMerge(TokenMerge settings)
    {
        if (!unet.TakesTokenMerge || sessions is null)
        {
            throw new ArgumentException($"the UNet of '{name}' ({unet.ModelPath}) takes no ToMe token order: token merging works on models model.load converts from a .safetensors checkpoint or a diffusers folder (builder version 15 or later). A folder converted by an older version is converted again on its next load; a folder made elsewhere cannot take it");
        }

        if (hyperTile is not null) throw new ArgumentException(NotBoth);
        return new OnnxUNetModel(name, unet, sampleSize, sessions, freeU, deepShrink, null, settings);
    }

    // Both replace the full-resolution self-attention (in ComfyUI their patches chain and the second reads the first's rearranged queries).
    private const string NotBoth = "HyperTile (unet.hypertile, ComfyUI's HyperTile) and token merging (unet.token_merge, ComfyUI's TomePatchModel) both rework the same self-attentions and are not combined: use one of them";

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
    public Task PredictAsync(DenoiserInput input, Memory<float> prediction, CancellationToken cancellationToken)
    {
        var shape = input.Shape;
        var context = input.Context;
        if (context.Batch != shape.Batch && context.Batch != 1)
            throw new ArgumentException($"the conditioning has batch {context.Batch} but the latents have batch {shape.Batch}");
        if (unet.ContextWidth is { } width && context.Dim != width)
            throw new ArgumentException($"the conditioning is {context.Dim} wide but the UNet of '{name}' takes {width}-wide text context: the CLIP that encoded it belongs to another model "
                + "(SD 1.x's CLIP ViT-L is 768 wide, SDXL's CLIP ViT-L and OpenCLIP ViT-bigG 768 + 1280 = 2048, the SDXL refiner's OpenCLIP ViT-bigG 1280); encode the prompts with this UNet's model's CLIP");
        var repeated = context.Batch == shape.Batch ? null : Repeat(context, shape.Batch);
        var (ip2pSample, unetShape) = unet.InChannels == InstructPix2PixImage.UNetChannels ? InstructPix2PixImage.Append(input, name) : (null, shape);
        if (ip2pSample is null && input.Extras.Contains(InstructPix2PixImage.Key))
            throw new ArgumentException($"the conditioning carries an input image's latents for an instruct-pix2pix model (conditioning.instruct_pix2pix, ComfyUI's InstructPixToPixConditioning), but the UNet of '{name}' takes {unet.InChannels} input channels, not 8: load an instruct-pix2pix checkpoint, or leave that node out");
        var (textEmbeds, timeIds) = unet.TakesAddedConditioning ? AddedConditioning(input, unet.TimeIdCount) : (null, null);
        var timestepCond = unet.GuidanceEmbeddingWidth is { } condWidth ? GuidanceEmbedding(input, condWidth) : null;
        var prompt = input.Extras.TryGet(ImagePrompt.Key, out var p) && p.ActsAt(input.Timestep, shape.Batch) ? p : null;
        var active = input.Extras.TryGet(ControlStack.Key, out var control) ? ControlledPrediction.Active(control, input.Timestep, shape.Batch) : [];
        var pagMask = input.Extras.TryGet(PerturbedAttentionMask.Key, out var mask) ? Rows(mask, shape.Batch, "pag_mask") : null;
        var shrink = deepShrink?.At(input.Timestep);
        var record = input.Extras.TryGet(SelfAttentionRecord.Key, out var r) ? r : null;
        if (record is not null && unet.SampleType != Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float)
            throw new ArgumentException($"SAG (self-attention guidance) needs a float32 UNet graph; the UNet of '{name}' is {unet.SampleType} (a float16 conversion): load the model in float32");
        if (shrink is not null && active.Count > 0)
        {
            // ComfyUI adds only the residuals whose size still matches (warning about the rest); we refuse rather than drop some.
            throw new ArgumentException($"Deep Shrink and ControlNets / T2I-Adapters act at the same step (timestep {input.Timestep}): their residuals no longer fit the shrunk blocks. End the Deep Shrink window (end_percent) before the ControlNet's start_percent, or start the ControlNet later");
        }

        if (hyperTile is not null && (pagMask is not null || record is not null) && TilesMiddle(hyperTile, shape))
        {
            // ComfyUI's PAG and SAG replace the middle block's self-attention after HyperTile tiled its queries, which fails or mixes tiles.
            throw new ArgumentException($"HyperTile with max_depth {hyperTile.MaxDepth} tiles the UNet's middle block at this size, whose self-attention PAG / SAG replace (ComfyUI fails or mixes tiles there): lower max_depth below the middle block's depth (SD 1.5: 3, SDXL: 2) or turn PAG / SAG off");
        }

        if (prompt is not null || active.Count > 0 || freeU is not null || shrink is not null || record is not null || hyperTile is not null || tokenMerge is not null)
        {
            // ControlNets, an image prompt, FreeU, Deep Shrink, HyperTile, ToMe and SAG's map compose in one graph variant: the residuals, the keys and values and the factors are inputs of the same call.
            var variant = _variants[(active.Count > 0 ? 1 : 0) | (prompt is not null ? 2 : 0)].Value;
            var sample = input.Sample.ToArray();
            var hidden = repeated ?? context.Embeddings.ToArray();
            var residuals = active.Count > 0 ? ControlledPrediction.Residuals(active, unet, input, sample, hidden, textEmbeds, timeIds, cancellationToken) : null;
            var attention = prompt is null ? null : IpAdaptedPrediction.Attention(prompt, input, variant.IpChannels.Count);
            var map = variant.Predict(ip2pSample ?? sample, unetShape, input.Timestep, hidden, context.Tokens, new UNetVariantInputs(textEmbeds, timeIds, timestepCond, residuals, attention, freeU, pagMask, shrink, record?.Rows, hyperTile, tokenMerge),
                prediction.Span, cancellationToken);
            if (record is not null) record.Map = map;
            return Task.CompletedTask;
        }

        var timesteps = new float[shape.Batch];
        Array.Fill(timesteps, input.Timestep);
        // The embeddings go to the pinned input buffer as they are; only a batch-1 conditioning is repeated first.
        ReadOnlySpan<float> embeddings = repeated is null ? context.Embeddings : repeated;
        unet.Predict(ip2pSample ?? input.Sample.Span, unetShape, timesteps, embeddings, context.Tokens, textEmbeds, timeIds, timestepCond, pagMask, prediction.Span, cancellationToken);
        return Task.CompletedTask;
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

    // Whether HyperTile tiles the middle block: a row of its token count, the latent's at the depth of the UNet's last
    // encoder level (the highest down_blocks.i: SD 1.5's 3, SDXL's 2).
    private bool TilesMiddle(HyperTile tile, LatentShape shape)
    {
        var depth = unet.Weights.Select(w => w.Name.Split('.') is ["down_blocks", var level, ..] && int.TryParse(level, out var i) ? i : 0).DefaultIfEmpty().Max();
        var scale = Math.Pow(2, depth);
        var middle = shape.Height / scale * (shape.Width / scale);
        var rows = tile.Tiles(shape.Height, shape.Width);
        for (var i = 0; i < rows.Length; i += 4)
        {
            if (rows[i] == middle) return true;
        }

        return false;
    }

    private static float[] Rows(ExtraTensor tensor, int batch, string name)
    {
        if (tensor.Batch != batch && tensor.Batch != 1)
            throw new ArgumentException($"{name} has batch {tensor.Batch} but the latents have batch {batch}");
        var result = new float[batch * tensor.ItemLength];
        for (var b = 0; b < batch; b++) tensor.ItemOf(b).CopyTo(result.AsSpan(b * tensor.ItemLength));
        return result;
    }

    private static UNetVariant OpenVariant(string name, UNet unet, OnnxSessionCache? sessions, bool controlled, bool ipAdapted)
    {
        var file = UNetVariant.FileName(controlled, ipAdapted);
        var path = Path.Combine(Path.GetDirectoryName(unet.ModelPath)!, file);
        var takes = (controlled, ipAdapted) switch
        {
            (true, true) => "ControlNet residuals and IP-Adapter keys and values",
            (true, false) => "ControlNet residuals",
            (false, true) => "IP-Adapter keys and values",
            _ => "FreeU's factors, Deep Shrink or SAG's attention map",
        };
        if (sessions is null || !File.Exists(path))
        {
            throw new ArgumentException($"the UNet of '{name}' has no graph that takes {takes} ({path}); ControlNets and IP-Adapters work on models model.load converts from a .safetensors checkpoint or diffusers folder");
        }

        return UNetVariant.Open(sessions, new OnnxModelSource(path, unet.Source.Options, unet.Source.Overrides), $"UNet graph with {takes}");
    }

    private static float[] Repeat(Conditioning context, int batch)
    {
        var one = context.Embeddings;
        var result = new float[one.Length * batch];
        for (var b = 0; b < batch; b++) one.CopyTo(result.AsSpan(b * one.Length));
        return result;
    }
}
