using System.Globalization;
using System.Text.RegularExpressions;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>Standalone VAE files: the weights of a swapped VAE (e.g. <c>vae-ft-mse-840000-ema-pruned.safetensors</c>).</summary>
public sealed partial class CheckpointWeights
{
    /// <summary>
    /// Opens a standalone SD VAE: a <c>.safetensors</c> file in the LDM layout (<c>encoder.down.0.block.0…</c>,
    /// <c>quant_conv</c>, <c>post_quant_conv</c>, optionally under <c>first_stage_model.</c>) or the diffusers layout
    /// (<c>encoder.down_blocks.0.resnets.0…</c>), or a diffusers VAE folder (<c>diffusion_pytorch_model.safetensors</c>,
    /// directly or under <c>vae/</c>). Keys of no VAE module (a training loss's <c>loss.*</c>, <c>model_ema.*</c>) are left out.
    /// </summary>
    /// <exception cref="CheckpointException">The file holds no VAE tensors; the message names the file and what was expected.</exception>
    public static CheckpointWeights OpenVae(string path)
    {
        if (Directory.Exists(path))
        {
            var file = new[] { path, Path.Combine(path, "vae") }.Select(f => DiffusersWeightFiles.Find(f, DiffusersWeightFiles.Model)).FirstOrDefault(f => f is not null)
                ?? throw new CheckpointException($"{path}: no VAE weights found; expected diffusion_pytorch_model.safetensors (or .bin) in the folder or in its vae/ folder.");
            path = file;
        }

        var safetensors = SafetensorsFile.Open(path);
        try
        {
            var tensors = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
            var keys = safetensors.Tensors.Keys.ToArray();
            var prefix = keys.Any(k => k.StartsWith(LdmKeyMap.VaePrefix, StringComparison.Ordinal)) ? LdmKeyMap.VaePrefix : string.Empty;
            var own = keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
            if (own.Any(k => k[prefix.Length..].StartsWith("encoder.down_blocks.", StringComparison.Ordinal)))
            {
                foreach (var key in own.Where(k => IsDiffusersVaeKey(k[prefix.Length..])))
                {
                    var name = Canonical(ModelPart.Vae, key[prefix.Length..]);
                    tensors[name] = new StoredTensor(safetensors, safetensors.Tensors[key], CanonicalShape(ModelPart.Vae, name, safetensors.Tensors[key].Shape));
                }
            }
            else
            {
                var levels = own.Select(k => LdmEncoderLevel().Match(k[prefix.Length..])).Where(m => m.Success)
                    .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
                foreach (var key in own)
                {
                    if (LdmKeyMap.RenameVae(key[prefix.Length..], levels) is { } name)
                    {
                        tensors[name] = new StoredTensor(safetensors, safetensors.Tensors[key], CanonicalShape(ModelPart.Vae, name, safetensors.Tensors[key].Shape));
                    }
                }
            }

            if (tensors.Count == 0)
            {
                throw new CheckpointException($"{path}: no tensor is an SD VAE's (expected encoder.*, decoder.*, quant_conv.* and post_quant_conv.* in the LDM or diffusers layout); "
                    + $"the file's first keys are {string.Join(", ", keys.Order(StringComparer.Ordinal).Take(3))}.");
            }

            return new CheckpointWeights(path, [safetensors], new Dictionary<ModelPart, Dictionary<string, StoredTensor>> { [ModelPart.Vae] = tensors });
        }
        catch
        {
            safetensors.Dispose();
            throw;
        }
    }

    private static bool IsDiffusersVaeKey(string key) =>
        key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("decoder.", StringComparison.Ordinal)
        || key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal);

    [GeneratedRegex(@"^encoder\.down\.(\d+)\.")]
    private static partial Regex LdmEncoderLevel();
}
