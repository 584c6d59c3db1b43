using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Writes a UNet-only file (ComfyUI's UNETLoader input) as the UNet half of a diffusers-ONNX folder: <c>unet/</c> (the
/// graph, its ControlNet and IP-Adapter variants, <c>config.json</c>) and <c>scheduler/scheduler_config.json</c> with the
/// family's training schedule. Written beside the target and renamed into place.
/// </summary>
public static class UNetOnnxFolder
{
    /// <summary>The family of the UNet-only file at <paramref name="path"/>: SDXL when its UNet has the added (pooled text and size) embedding.</summary>
    /// <exception cref="CheckpointException">The file holds no SD 1.x or SDXL UNet (an SD 2.x UNet included).</exception>
    public static ModelFamily Detect(string path)
    {
        using var weights = CheckpointWeights.OpenUNet(path);
        var unet = weights.Part(ModelPart.UNet);
        if (unet.ContainsKey("add_embedding.linear_1.weight"))
        {
            return ModelFamily.StableDiffusionXL;
        }

        // SD 1.x projects into its transformers with 1×1 convolutions; SD 2.x (use_linear_in_transformer) with linear
        // layers, and it needs 64-wide heads no tensor shows, so it is refused rather than built with SD 1.x's heads.
        if (UNetArchitecture.HasLinearProjections(unet))
        {
            throw new CheckpointException($"{path}: the UNet's transformer projections are linear layers and it has no added embedding, as SD 2.x's UNet; only SD 1.x and SDXL UNets are supported.");
        }

        return ModelFamily.StableDiffusion1;
    }

    /// <summary>Writes the folder at <paramref name="target"/>, which must not exist yet.</summary>
    /// <param name="path">The UNet-only <c>.safetensors</c> file.</param>
    /// <param name="target">The folder to write.</param>
    /// <param name="sampling">What the UNet predicts and whether its schedule has zero terminal SNR.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <returns>The UNet's family.</returns>
    public static ModelFamily Write(string path, string target, CheckpointSampling sampling, CancellationToken cancellationToken = default)
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
                using var sdxl = SdxlCheckpoint.OpenUNet(path);
                var unet = sdxl.UNet!;
                DiffusersOnnxFolder.WriteJson(staging, "scheduler/scheduler_config.json", w => SdxlOnnxFolder.SchedulerConfig(w, sampling.PredictionType, sampling.ZeroSnr));
                DiffusersOnnxFolder.WriteModel(staging, "unet", DiffusersOnnxFolder.UNetBuilder(sdxl.BuildUNet), w => SdxlOnnxFolder.UNetConfig(w, unet, vaeFactor), float16: false,
                    DiffusersOnnxFolder.UNetVariantBuilders(sdxl.BuildUNet), cancellationToken);
            }
            else
            {
                using var sd1 = Sd1Checkpoint.OpenUNet(path);
                var unet = sd1.UNet!;
                DiffusersOnnxFolder.WriteJson(staging, "scheduler/scheduler_config.json", w => DiffusersOnnxFolder.SchedulerConfig(w, sampling.PredictionType, sampling.ZeroSnr));
                DiffusersOnnxFolder.WriteModel(staging, "unet", DiffusersOnnxFolder.UNetBuilder(sd1.BuildUNet), w => DiffusersOnnxFolder.UNetConfig(w, unet, vaeFactor, float16: false), float16: false,
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
