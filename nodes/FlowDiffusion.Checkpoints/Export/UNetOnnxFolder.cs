using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Writes a UNet-only file (ComfyUI's UNETLoader input: SD 1.x, SD 2.x or SDXL) as the UNet half of a diffusers-ONNX folder: <c>unet/</c> (the
/// graph, its ControlNet and IP-Adapter variants, <c>config.json</c>) and <c>scheduler/scheduler_config.json</c> with the
/// family's training schedule. Written beside the target and renamed into place.
/// </summary>
public static class UNetOnnxFolder
{
    /// <summary>
    /// The family of the UNet-only file at <paramref name="path"/>: SDXL when its UNet has the added (pooled text and size)
    /// embedding, else SD 2.x when it projects into its transformers with linear layers (ComfyUI's use_linear_in_transformer;
    /// SD 1.x uses 1×1 convolutions), else SD 1.x.
    /// </summary>
    /// <exception cref="CheckpointException">The file holds no UNet, or an SD 2.x variant that takes more than latents (<see cref="Sd2Keys.RefuseUnsupportedUNet"/>).</exception>
    public static ModelFamily Detect(string path)
    {
        using var weights = CheckpointWeights.OpenUNet(path);
        var unet = weights.Part(ModelPart.UNet);
        if (unet.ContainsKey("add_embedding.linear_1.weight"))
        {
            return ModelFamily.StableDiffusionXL;
        }

        // SD 2.x's heads are 64 wide, which no tensor shows: Sd1Checkpoint builds linear-projection UNets with them.
        if (UNetArchitecture.HasLinearProjections(unet))
        {
            // SD 2.x's transformers are one block deep (ComfyUI's SD20 transformer_depth 1); deeper ones are SDXL's.
            if (unet.Keys.Any(k => k.Contains(".transformer_blocks.1.", StringComparison.Ordinal)))
            {
                throw new CheckpointException($"{path}: the UNet's transformers are linear-projection stacks deeper than one block, as SDXL's, but it has no added embedding (label_emb); "
                    + "it is neither an SD 2.x UNet (one block per transformer) nor an SDXL one, so it is not supported.");
            }

            Sd2Keys.RefuseUnsupportedUNet(path, unet.TryGetValue("conv_in.weight", out var convIn) ? convIn.Shape : []);
            return ModelFamily.StableDiffusion2;
        }

        return ModelFamily.StableDiffusion1;
    }

    /// <summary>Writes the folder at <paramref name="target"/>, which must not exist yet.</summary>
    /// <param name="path">The UNet-only <c>.safetensors</c> file.</param>
    /// <param name="target">The folder to write.</param>
    /// <param name="sampling">What the UNet predicts and whether its schedule has zero terminal SNR.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <param name="roundTo">The 8-bit float type every weight is rounded to first (ComfyUI's UNETLoader <c>weight_dtype</c>), or null.</param>
    /// <returns>The UNet's family.</returns>
    public static ModelFamily Write(string path, string target, CheckpointSampling sampling, CancellationToken cancellationToken = default, SafetensorsDType? roundTo = null)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        var family = Detect(path);
        if (Directory.Exists(target) || File.Exists(target))
        {
            throw new IOException($"'{target}' already exists.");
        }

        var full = Path.GetFullPath(target);
        var staging = full + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            // Both families' VAEs downscale by 8; the sample size only tells the native image size.
            const int vaeFactor = 8;
            if (family == ModelFamily.StableDiffusionXL)
            {
                using var sdxl = SdxlCheckpoint.OpenUNet(path, roundTo);
                var unet = sdxl.UNet!;
                DiffusersOnnxFolder.WriteJson(staging, "scheduler/scheduler_config.json", w => SdxlOnnxFolder.SchedulerConfig(w, sampling.PredictionType, sampling.ZeroSnr));
                DiffusersOnnxFolder.WriteModel(staging, "unet", DiffusersOnnxFolder.UNetBuilder(sdxl.BuildUNet), w => SdxlOnnxFolder.UNetConfig(w, unet, vaeFactor), float16: false,
                    DiffusersOnnxFolder.UNetVariantBuilders(sdxl.BuildUNet), cancellationToken);
            }
            else
            {
                using var sd1 = Sd1Checkpoint.OpenUNet(path, roundTo);
                var unet = sd1.UNet!;
                DiffusersOnnxFolder.WriteJson(staging, "scheduler/scheduler_config.json", w => DiffusersOnnxFolder.SchedulerConfig(w, sampling.PredictionType, sampling.ZeroSnr));
                // As a single file's: SD 2.x's 768-v models draw at 768 pixels, the others at 512.
                var imageSize = family == ModelFamily.StableDiffusion2 && sampling.PredictionType == "v_prediction" ? 768 : 512;
                DiffusersOnnxFolder.WriteModel(staging, "unet", DiffusersOnnxFolder.UNetBuilder(sd1.BuildUNet), w => DiffusersOnnxFolder.UNetConfig(w, unet, vaeFactor, float16: false, imageSize), float16: false,
                    DiffusersOnnxFolder.UNetVariantBuilders(sd1.BuildUNet), cancellationToken);
            }

            Directory.Move(staging, full);
            return family;
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }
    }
}
