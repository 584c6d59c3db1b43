using System.Text.RegularExpressions;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Weights;

/// <summary>
/// SDXL's second text encoder in a single file is OpenCLIP ViT-bigG under <c>conditioner.embedders.1.model.</c> (the
/// refiner's only one, under <c>conditioner.embedders.0.model.</c>)
/// (<c>token_embedding</c>, <c>positional_embedding</c>, <c>transformer.resblocks.N</c> with a fused <c>attn.in_proj</c>,
/// <c>ln_final</c>, <c>text_projection</c>). This maps it to the transformers CLIP names diffusers' <c>text_encoder_2</c>
/// uses (<c>text_model.encoder.layers.N.self_attn.q_proj</c> …, <c>text_projection.weight</c>): the fused projection
/// becomes three row ranges and the projection matrix, applied as <c>x @ P</c>, its transpose.
/// </summary>
public static partial class OpenClipKeyMap
{
    /// <summary>The OpenCLIP tower's key prefix in an SDXL base single file.</summary>
    public const string Prefix = "conditioner.embedders.1.model.";

    /// <summary>The OpenCLIP tower's key prefix in an SDXL refiner single file, whose only text encoder it is.</summary>
    public const string RefinerPrefix = "conditioner.embedders.0.model.";

    private static readonly Dictionary<string, string> LayerNames = new(StringComparer.Ordinal)
    {
        ["ln_1"] = "layer_norm1", ["ln_2"] = "layer_norm2", ["attn.out_proj"] = "self_attn.out_proj", ["mlp.c_fc"] = "mlp.fc1", ["mlp.c_proj"] = "mlp.fc2",
    };

    /// <summary>The canonical tensors of the OpenCLIP tower in <paramref name="file"/> (empty when it has none); keys of no text path (<c>logit_scale</c>) are left out.</summary>
    public static Dictionary<string, StoredTensor> Map(SafetensorsFile file)
    {
        var map = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        var prefix = file.Tensors.Keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal)) ? Prefix : RefinerPrefix;
        foreach (var (key, tensor) in file.Tensors)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = key[prefix.Length..];
            switch (rest)
            {
                case "token_embedding.weight":
                    map["text_model.embeddings.token_embedding.weight"] = new StoredTensor(file, tensor, tensor.Shape);
                    continue;
                case "positional_embedding":
                    map["text_model.embeddings.position_embedding.weight"] = new StoredTensor(file, tensor, tensor.Shape);
                    continue;
                case "ln_final.weight" or "ln_final.bias":
                    map["text_model.final_layer_norm." + rest["ln_final.".Length..]] = new StoredTensor(file, tensor, tensor.Shape);
                    continue;
                case "text_projection" when tensor.Shape.Length == 2:
                    map["text_projection.weight"] = new StoredTensor(file, tensor, [tensor.Shape[1], tensor.Shape[0]]) { Transposed = true };
                    continue;
            }

            var m = Block().Match(rest);
            if (!m.Success)
            {
                continue;
            }

            var layer = $"text_model.encoder.layers.{m.Groups[1].Value}.";
            var module = m.Groups[2].Value;
            var kind = m.Groups[3].Value;
            if (module == "attn.in_proj" && tensor.Shape.Length >= 1 && tensor.Shape[0] % 3 == 0)
            {
                var width = tensor.Shape[0] / 3;
                var suffix = kind == "_weight" ? "weight" : "bias";
                string[] names = ["q_proj", "k_proj", "v_proj"];
                for (var i = 0; i < 3; i++)
                {
                    map[$"{layer}self_attn.{names[i]}.{suffix}"] = new StoredTensor(file, tensor, [width, .. tensor.Shape.Skip(1)]) { Rows = (i * width, width) };
                }
            }
            else if (LayerNames.TryGetValue(module, out var renamed) && kind.StartsWith('.'))
            {
                map[layer + renamed + kind] = new StoredTensor(file, tensor, tensor.Shape);
            }
        }

        return map;
    }

    [GeneratedRegex(@"^transformer\.resblocks\.(\d+)\.(ln_1|ln_2|attn\.in_proj|attn\.out_proj|mlp\.c_fc|mlp\.c_proj)(_weight|_bias|\.weight|\.bias)$")]
    private static partial Regex Block();
}
