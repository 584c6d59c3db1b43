namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Writes a standalone VAE as the VAE half of a diffusers-ONNX folder: <c>vae_encoder/</c> and <c>vae_decoder/</c>,
/// each with <c>model.onnx</c>, its external weights and <c>config.json</c> (SD 1.x's scaling factor). The folder
/// appears whole or not at all.
/// </summary>
public static class VaeOnnxFolder
{
    /// <summary>Writes the folder at <paramref name="target"/>, which must not exist yet.</summary>
    /// <exception cref="CheckpointException">The checkpoint holds no VAE.</exception>
    public static void Write(Sd1Checkpoint checkpoint, string target, CancellationToken cancellationToken = default)
    {
        var vae = checkpoint.Vae ?? throw new CheckpointException($"{checkpoint.Weights.Source}: the file holds no VAE.");
        if (Directory.Exists(target) || File.Exists(target))
        {
            throw new IOException($"'{target}' already exists; choose another folder or remove it.");
        }

        var full = Path.GetFullPath(target);
        var staging = full + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            DiffusersOnnxFolder.WriteModel(staging, "vae_encoder", checkpoint.BuildVaeEncoder, w => DiffusersOnnxFolder.VaeConfig(w, vae), cancellationToken: cancellationToken);
            DiffusersOnnxFolder.WriteModel(staging, "vae_decoder", checkpoint.BuildVaeDecoder, w => DiffusersOnnxFolder.VaeConfig(w, vae), cancellationToken: cancellationToken);
            Directory.Move(staging, full);
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
