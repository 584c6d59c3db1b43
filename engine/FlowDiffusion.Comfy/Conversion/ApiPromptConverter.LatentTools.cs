using System.Text.Json.Nodes;

namespace FlowDiffusion.Comfy.Conversion;

/// <summary>
/// ComfyUI's LatentConcat, LatentCut and LatentCutToBatch (comfy_extras/nodes_latent.py) → latent.concat, latent.cut and
/// latent.cut_to_batch. Each copies its first latent's dictionary, so the result keeps its batch_index (FlowDiffusion's noise indices) and its noise mask, which
/// ComfyUI's sampler then stretches to the new width or height; the sampler here takes only a mask of the latent's size,
/// so a noise mask before a join or cut along x or y is refused naming the input (along t the size stays).
/// </summary>
public sealed partial class ApiPromptConverter
{
    private static readonly string[] ConcatDims = ["x", "-x", "y", "-y", "t", "-t"];
    private static readonly string[] CutDims = ["x", "y", "t"];
    private static readonly string[] CutToBatchDims = ["t", "x", "y"];

    // LatentConcat → latent.concat.
    private ComfyValue[]? LatentConcat(string id, JsonObject inputs)
    {
        var first = Link<LatentValue>(id, inputs, "samples1");
        var second = Link<LatentValue>(id, inputs, "samples2");
        var dim = Choice(id, inputs, "dim", "x", ConcatDims);
        if (first is null || second is null || dim is null || !KeepsNoiseMask(id, first, "samples1", dim)) return null;
        var node = Add(id, null, "latent.concat", [("samples1", first.Latent), ("samples2", second.Latent)], [("dim", dim)]);
        return [first with { Latent = $"{node}.concatenated" }];
    }

    // LatentCut → latent.cut.
    private ComfyValue[]? LatentCut(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var dim = Choice(id, inputs, "dim", "x", CutDims);
        var index = Integer(id, inputs, "index", 0);
        var amount = Integer(id, inputs, "amount", 1);
        if (samples is null || dim is null || index is null || amount is null
            || !Within(id, "index", index.Value, -16384, 16384) | !Within(id, "amount", amount.Value, 1, 16384))
            return null;
        if (!KeepsNoiseMask(id, samples, "samples", dim)) return null;
        var node = Add(id, null, "latent.cut", [("samples", samples.Latent)], [("dim", dim), ("index", index.Value), ("amount", amount.Value)]);
        return [samples with { Latent = $"{node}.cut" }];
    }

    // LatentCutToBatch → latent.cut_to_batch.
    private ComfyValue[]? LatentCutToBatch(string id, JsonObject inputs)
    {
        var samples = Link<LatentValue>(id, inputs, "samples");
        var dim = Choice(id, inputs, "dim", "t", CutToBatchDims);
        var size = Integer(id, inputs, "slice_size", 1);
        if (samples is null || dim is null || size is null || !Within(id, "slice_size", size.Value, 1, 16384) || !KeepsNoiseMask(id, samples, "samples", dim))
            return null;
        var node = Add(id, null, "latent.cut_to_batch", [("samples", samples.Latent)], [("dim", dim), ("slice_size", size.Value)]);
        return [samples with { Latent = $"{node}.batched" }];
    }

    private bool KeepsNoiseMask(string id, LatentValue latent, string name, string dim)
    {
        if (latent.Mask is null || dim.TrimStart('-') == "t") return true;
        Error(id, "value_not_supported", "Value not supported",
            $"{name}: a noise mask (SetLatentNoiseMask, VAEEncodeForInpaint) does not follow a latent joined or cut along {dim} (ComfyUI's sampler stretches it to the new size); set the noise mask after this node", name);
        return false;
    }
}
