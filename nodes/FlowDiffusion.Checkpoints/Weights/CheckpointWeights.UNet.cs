using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>Standalone UNet files: what ComfyUI's UNETLoader and ModelSave read and write.</summary>
public sealed partial class CheckpointWeights
{
    // Module names that only an LDM UNet (without its model.diffusion_model. prefix) has at the top level.
    private static readonly string[] BareLdmUNetModules = ["input_blocks.", "middle_block.", "output_blocks.", "time_embed."];

    // Module names that only a diffusers UNet2DConditionModel has at the top level.
    private static readonly string[] DiffusersUNetModules = ["down_blocks.", "mid_block.", "up_blocks.", "time_embedding."];

    /// <summary>
    /// Opens a UNet-only <c>.safetensors</c> file in any of the three layouts ComfyUI's UNETLoader accepts for SD 1.x and
    /// SDXL: LDM names under <c>model.diffusion_model.</c> (what ModelSave writes), the same names bare (ComfyUI strips
    /// the prefix), or diffusers names (<c>down_blocks.0.resnets.0…</c>, a diffusers folder's
    /// <c>diffusion_pytorch_model.safetensors</c>). Keys of no UNet module (the <c>v_pred</c> and <c>ztsnr</c> marks,
    /// other networks' weights) are left out; only <see cref="ModelPart.UNet"/> is set.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="roundTo">
    /// The 8-bit float type every UNet weight is rounded to (ComfyUI's UNETLoader <c>weight_dtype</c>), or null to read
    /// the stored values.
    /// </param>
    /// <exception cref="CheckpointException">
    /// The file holds no SD 1.x or SDXL UNet tensors (the message names the file and its first keys), or
    /// <paramref name="roundTo"/> is set for a scaled fp8 file.
    /// </exception>
    public static CheckpointWeights OpenUNet(string path, SafetensorsDType? roundTo = null)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var keys = file.Tensors.Keys.ToArray();
            var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
            if (keys.Any(k => k.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal)) || keys.Any(IsBareLdmUNetKey))
            {
                // Bare keys are read as if under the prefix, so one key table serves both layouts.
                var prefixed = keys.Any(k => k.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal));
                var own = prefixed
                    ? keys.Where(k => k.StartsWith(LdmKeyMap.UNetPrefix, StringComparison.Ordinal)).ToArray()
                    : keys.Where(IsBareLdmUNetKey).Select(k => LdmKeyMap.UNetPrefix + k).ToArray();
                foreach (var (key, (part, name)) in LdmKeyMap.Map(own, path))
                {
                    var tensor = file.Tensors[prefixed ? key : key[LdmKeyMap.UNetPrefix.Length..]];
                    tensors[name] = new StoredTensor(file, tensor, CanonicalShape(part, name, tensor.Shape)) { RoundTo = roundTo };
                }
            }
            else if (keys.Any(k => DiffusersUNetModules.Any(m => k.StartsWith(m, StringComparison.Ordinal))))
            {
                foreach (var key in keys.Where(IsDiffusersUNetKey))
                {
                    tensors[key] = new StoredTensor(file, file.Tensors[key], file.Tensors[key].Shape) { RoundTo = roundTo };
                }
            }

            if (tensors.Count == 0)
            {
                throw new CheckpointException($"{path}: no tensor is an SD 1.x or SDXL UNet's (expected model.diffusion_model.input_blocks.*, the same names without the prefix, "
                    + $"or diffusers' down_blocks.*); the file's first keys are {string.Join(", ", keys.Where(k => k is not ("v_pred" or "ztsnr")).Order(StringComparer.Ordinal).Take(3))}.");
            }

            if (roundTo is not null && keys.FirstOrDefault(k => k.EndsWith(".scale_weight", StringComparison.Ordinal) || k.EndsWith(".weight_scale", StringComparison.Ordinal)) is { } scale)
            {
                // ComfyUI keeps a scaled fp8 file's weights and scales as they are (its scaled fp8 layers), whatever weight_dtype says.
                throw new CheckpointException($"{path}: the file is scaled fp8 ('{scale}'); its weights are read with their scales, and rounding them to fp8 again (weight_dtype) is not supported: use default.");
            }

            return new CheckpointWeights(path, [file], new Dictionary<ModelPart, Dictionary<string, StoredTensor>> { [ModelPart.UNet] = tensors });
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static bool IsBareLdmUNetKey(string key) =>
        BareLdmUNetModules.Any(m => key.StartsWith(m, StringComparison.Ordinal)) || key.StartsWith("out.", StringComparison.Ordinal) || key.StartsWith("label_emb.", StringComparison.Ordinal);

    private static bool IsDiffusersUNetKey(string key) =>
        DiffusersUNetModules.Any(m => key.StartsWith(m, StringComparison.Ordinal))
        || key.StartsWith("conv_in.", StringComparison.Ordinal) || key.StartsWith("conv_out.", StringComparison.Ordinal)
        || key.StartsWith("conv_norm_out.", StringComparison.Ordinal) || key.StartsWith("add_embedding.", StringComparison.Ordinal);
}
