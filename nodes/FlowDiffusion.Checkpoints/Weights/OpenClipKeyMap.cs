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
    public static Dictionary<string, StoredTensor> Map(SafetensorsFile file) =>
        Map(file, file.Tensors.Keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal)) ? Prefix : RefinerPrefix);

    /// <summary>The canonical tensors of the OpenCLIP tower under <paramref name="prefix"/> in <paramref name="file"/> (SD 2.x's is <see cref="Sd2Keys.TextEncoderPrefix"/>).</summary>
    public static Dictionary<string, StoredTensor> Map(SafetensorsFile file, string prefix)
    {
        ArgumentNullException.ThrowIfNull(file);
        var map = new Dictionary<string, StoredTensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in file.Tensors)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (name, shape, rows, transposed) in Read(key[prefix.Length..], tensor.Shape))
            {
                map[name] = new StoredTensor(file, tensor, shape) { Rows = rows, Transposed = transposed };
            }
        }

        return map;
    }

    /// <summary>
    /// The canonical tensors one OpenCLIP key (without its prefix) of stored <paramref name="shape"/> holds: its name, its
    /// shape, the rows of the stored tensor it is (q, k and v of the fused <c>in_proj</c>) and whether it is the stored
    /// matrix transposed (<c>text_projection</c>); none for a key of no text path.
    /// </summary>
    public static IEnumerable<(string Name, long[] Shape, (long Start, long Count)? Rows, bool Transposed)> Read(string key, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        switch (key)
        {
            case "token_embedding.weight":
                return [("text_model.embeddings.token_embedding.weight", shape, null, false)];
            case "positional_embedding":
                return [("text_model.embeddings.position_embedding.weight", shape, null, false)];
            case "ln_final.weight" or "ln_final.bias":
                return [("text_model.final_layer_norm." + key["ln_final.".Length..], shape, null, false)];
            case "text_projection" when shape.Length == 2:
                return [("text_projection.weight", [shape[1], shape[0]], null, true)];
        }

        var m = Block().Match(key);
        if (!m.Success)
        {
            return [];
        }

        var layer = $"text_model.encoder.layers.{m.Groups[1].Value}.";
        var module = m.Groups[2].Value;
        var kind = m.Groups[3].Value;
        if (module == "attn.in_proj" && shape.Length >= 1 && shape[0] % 3 == 0)
        {
            var width = shape[0] / 3;
            var suffix = kind == "_weight" ? "weight" : "bias";
            return FusedNames.Select((n, i) => ($"{layer}self_attn.{n}.{suffix}", (long[])[width, .. shape.Skip(1)], ((long, long)?)(i * width, width), false));
        }

        return LayerNames.TryGetValue(module, out var renamed) && kind.StartsWith('.') ? [(layer + renamed + kind, shape, null, false)] : [];
    }

    /// <summary>OpenCLIP's per-layer modules → transformers CLIP's, for the modules that are not fused.</summary>
    internal static IReadOnlyDictionary<string, string> LayerModules => LayerNames;

    /// <summary>The projections the fused <c>attn.in_proj</c> holds, in row order.</summary>
    internal static readonly string[] FusedNames = ["q_proj", "k_proj", "v_proj"];

    [GeneratedRegex(@"^transformer\.resblocks\.(\d+)\.(ln_1|ln_2|attn\.in_proj|attn\.out_proj|mlp\.c_fc|mlp\.c_proj)(_weight|_bias|\.weight|\.bias)$")]
    private static partial Regex Block();
}
