using System.Globalization;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Engine.Execution;

/// <summary>
/// An upper-bound estimate of a run's peak memory, made from its plan before anything executes, so a request that would
/// exhaust the machine is refused up front (<c>FlowDiffusion:MaxRunMemory</c>) rather than killed by it. It reads the
/// parameters that size the work — <c>width</c>, <c>height</c>, <c>batch</c>, <c>steps</c>, <c>preview_every</c> and
/// text (a size of 0 is the model's native size) — and the model a model-folder parameter names
/// (<see cref="ModelMemoryProfile"/>: its weight bytes, VAE scale and the heads and size of its largest attention; SD
/// 1.x's shape when it cannot be read). Classifier-free guidance doubles the UNet batch. Models with memory-efficient
/// attention need less; the estimate errs high. docs/security.md gives the formula and measured figures.
/// </summary>
/// <param name="Bytes">The estimated peak.</param>
/// <param name="Parts">The terms that add up to it, each "what size".</param>
/// <param name="Model">The model the estimate assumed: its family, and where it was read from or that it was assumed.</param>
public sealed record RunMemoryEstimate(long Bytes, IReadOnlyList<string> Parts, string Model)
{
    private const long CfgBatch = 2;
    private const long BytesPerFloat = 4;
    // Activations alive in the VAE decoder at full resolution (up to 512 channels, a few at once), per pixel.
    private const long VaeBytesPerPixel = 2048;
    // Image-size float buffers a pipeline holds at once (decoded image, RGBA, PNG rows, resized copies), per pixel and channel.
    private const long ImageBuffers = 4;
    // One CLIP chunk: 77 tokens × 768 dims of float32, and the encoder's activations around it (about 8×).
    private const long BytesPerPromptChunk = 77L * 768 * BytesPerFloat * 8;

    /// <summary>
    /// Estimates <paramref name="plan"/>'s peak memory. <paramref name="models"/> reads the profile of the model a
    /// model-folder parameter names (null: it cannot be read, and SD 1.x's shape is assumed).
    /// </summary>
    public static RunMemoryEstimate Of(ExecutionPlan plan, Func<string, ModelMemoryProfile?>? models = null)
    {
        var modelPath = plan.Nodes
            .SelectMany(n => n.Parameters.Where(p => p.Key.Kind == Sdk.ParameterKind.ModelFolder).Select(p => p.Value as string))
            .FirstOrDefault(p => !string.IsNullOrEmpty(p));
        var read = modelPath is null ? null : models?.Invoke(modelPath);
        var model = read ?? ModelMemoryProfile.StableDiffusion1;
        var modelNote = read is not null ? $"{model.Family} read from '{modelPath}'" : $"{model.Family} assumed";
        long nativeSize = model.NativeSize;
        long width = 0, height = 0, batch = 1, steps = 0, previewEvery = 0, textChars = 0;
        var samples = false;
        var decodes = false;
        foreach (var node in plan.Nodes)
        {
            long nodeWidth = 0, nodeHeight = 0, nodeBatch = 1;
            foreach (var (parameter, value) in node.Parameters)
            {
                switch (parameter.Name)
                {
                    // 0 asks for the model's native size: 512 for SD 1.x, 1024 for SDXL.
                    case "width": nodeWidth = Number(value) is > 0 and var w ? w : nativeSize; break;
                    case "height": nodeHeight = Number(value) is > 0 and var h ? h : nativeSize; break;
                    case "batch": nodeBatch = Math.Max(1, Number(value)); break;
                    case "steps": steps = Math.Max(steps, Number(value)); break;
                    case "preview_every": previewEvery = Math.Max(previewEvery, Number(value)); break;
                }
                if (value is string text) textChars += text.Length;
            }
            if (Saturating(Saturating(nodeWidth, nodeHeight), nodeBatch) > Saturating(Saturating(width, height), batch))
                (width, height, batch) = (nodeWidth, nodeHeight, nodeBatch);
            samples |= node.Descriptor.Inputs.Any(p => typeof(IGuider).IsAssignableFrom(p.Type.ClrType));
            decodes |= node.Descriptor.Inputs.Any(p => typeof(IVae).IsAssignableFrom(p.Type.ClrType));
        }

        var parts = new List<string>();
        long total = 0;
        void Add(string what, long bytes)
        {
            if (bytes <= 0) return;
            total = total > long.MaxValue - bytes ? long.MaxValue : total + bytes;
            parts.Add($"{what} {Format(bytes)}");
        }

        Add("model weights", model.WeightBytes);
        var pixels = Saturating(Saturating(width, height), batch);
        var image = Saturating(pixels, 3 * BytesPerFloat);
        Add("images", Saturating(image, ImageBuffers));
        var latentTokens = Saturating(width / model.LatentFactor, height / model.LatentFactor);
        if (samples)
        {
            // The largest attention: the first level that has one, (latent side / downsample)² tokens, a score per token
            // pair and head, for the unconditional and conditional halves of each image.
            var tokens = latentTokens / Math.Max(1L, (long)model.AttentionDownsample * model.AttentionDownsample);
            Add("UNet attention", Saturating(Saturating(Saturating(tokens, tokens), model.AttentionHeads * BytesPerFloat), CfgBatch * batch));
            if (previewEvery > 0 && steps > 0)
                Add("previews kept", Saturating(image, steps / previewEvery + 1));
        }
        if (decodes)
        {
            Add("VAE", Saturating(pixels, VaeBytesPerPixel));
            // The VAE's middle attention: one head over every latent pixel, per image.
            Add("VAE attention", Saturating(Saturating(latentTokens, latentTokens), BytesPerFloat * batch));
        }
        // Worst case one token per character, 75 tokens a chunk.
        Add("prompt encoding", Saturating(textChars / 75 + 1, BytesPerPromptChunk));
        return new RunMemoryEstimate(total, parts, modelNote);
    }

    /// <summary>"1.5 GiB".</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.#", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
    };

    private static long Number(object? value) => value switch
    {
        int i => Math.Max(0, i),
        long l => Math.Max(0, l),
        uint u => u,
        ulong u => (long)Math.Min(u, long.MaxValue),
        double d when double.IsFinite(d) => (long)Math.Clamp(d, 0, long.MaxValue),
        _ => 0,
    };

    // a × b, held at long.MaxValue instead of wrapping.
    private static long Saturating(long a, long b)
    {
        if (a <= 0 || b <= 0) return 0;
        return a > long.MaxValue / b ? long.MaxValue : a * b;
    }
}
