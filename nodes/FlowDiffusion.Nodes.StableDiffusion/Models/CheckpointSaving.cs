using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Writes model handles back as an SD 1.x LDM single file, as ComfyUI's CheckpointSave does: every weight of the UNet,
/// text encoder and VAE with the handle's overrides applied (a merge, a LoRA), read one at a time and streamed to the
/// file (<see cref="SafetensorsWriter"/>), under the key the importer reads it from (<see cref="LdmCheckpointLayout"/>).
/// Graph constants (<see cref="ModelMerge.Takes"/>, <see cref="FlowDiffusion.Onnx.GraphBuilder.IsGeneratedConstant"/>) are not written; a weight with no place in the layout (a graph exported
/// elsewhere, SDXL's second tower) fails the save, naming it, before anything is written.
/// </summary>
internal static class CheckpointSaving
{
    /// <summary>The precisions the file can be written in: the graph's own, or every weight converted.</summary>
    public static readonly string[] Precisions = ["model", "float16", "float32"];

    private sealed record Source(ModelPart Part, WeightInfo Weight, Func<CancellationToken, WeightTensor> Read);

    /// <summary>Writes <paramref name="path"/>; <paramref name="metadata"/> goes into the header as it is.</summary>
    public static void Write(string path, IUNetModel? unet, ITextEncoder? clip, IVae? vae, SchedulerConfigSource? config, string precision,
        Dictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (unet is null && clip is null && vae is null) throw new ArgumentException("nothing to save: connect a unet, a clip or a vae");
        if (Array.IndexOf(Precisions, precision) < 0)
            throw new ArgumentException($"parameter 'precision': '{precision}' is none of {string.Join(", ", Precisions)}");
        var sources = new List<Source>();
        if (unet is not null) sources.AddRange(UNetWeights(unet));
        if (clip is not null) sources.AddRange(TextEncoderWeights(clip));
        if (vae is not null) sources.AddRange(VaeWeights(vae));

        var (placed, unplaced) = LdmCheckpointLayout.Place([.. sources.Select(s => (s.Part, s.Weight.Name, s.Weight.Shape.ToArray()))]);
        if (unplaced.Count > 0)
        {
            var first = unplaced.GroupBy(u => u.Part).First();
            throw new ArgumentException(
                $"{unplaced.Count} weight(s) have no place in an SD 1.x checkpoint, e.g. {Input(first.Key)}'s {string.Join(", ", first.Take(3).Select(u => $"'{u.Name}'"))}: "
                + "only graphs FlowDiffusion built from a checkpoint (model.load of a .safetensors file) name and lay out their weights as the checkpoint did; "
                + "an ONNX export names, fuses or transposes them its own way, so it cannot be written back. Load the model from its .safetensors file to save it");
        }

        var byName = sources.ToDictionary(s => (s.Part, s.Weight.Name));
        var layout = new List<(string Name, SafetensorsDType DType, long[] Shape)>();
        var readers = new Dictionary<string, Func<byte[]>>(StringComparer.Ordinal);
        foreach (var placement in placed)
        {
            var source = byName[(placement.Part, placement.Name)];
            var type = precision switch { "float16" => WeightElementType.Float16, "float32" => WeightElementType.Float32, _ => source.Weight.ElementType!.Value };
            layout.Add((placement.Key, DType(type), placement.Shape));
            readers[placement.Key] = () => Bytes(source, type, cancellationToken);
        }

        // ComfyUI writes these for a v-prediction model: empty tensors the loaders read as markers.
        var (predictKey, zeroSnr) = Prediction(config);
        metadata["modelspec.predict_key"] = predictKey;
        if (predictKey == "v")
        {
            layout.Add(("v_pred", SafetensorsDType.Float32, [0]));
            readers["v_pred"] = () => [];
            if (zeroSnr)
            {
                layout.Add(("ztsnr", SafetensorsDType.Float32, [0]));
                readers["ztsnr"] = () => [];
            }
        }

        SafetensorsWriter.Write(path, layout, key => readers[key](), metadata, cancellationToken);
    }

    private static IEnumerable<Source> UNetWeights(IUNetModel unet)
    {
        if (unet is not OnnxUNetModel onnx) throw new ArgumentException($"unet: {unet.GetType().Name} is not an ONNX UNet loaded by model.load; only those can be saved");
        if (onnx.Model.TakesAddedConditioning)
            throw new ArgumentException("unet: an SDXL UNet; model.save writes SD 1.x checkpoints only (SDXL's single-file layout, with its OpenCLIP tower's fused projections, is not written yet)");
        var model = onnx.Model;
        return model.Weights.Where(w => Saved(w, false)).Select(w => new Source(ModelPart.UNet, w, ct => model.ReadWeight(w.Name, ct)));
    }

    private static IEnumerable<Source> TextEncoderWeights(ITextEncoder clip)
    {
        if (clip is SdxlTextEncoder)
            throw new ArgumentException("clip: an SDXL text encoder (two towers); model.save writes SD 1.x checkpoints only (SDXL's OpenCLIP tower, with its fused projections, is not written yet)");
        if (clip is not OnnxTextEncoder onnx) throw new ArgumentException($"clip: {clip.GetType().Name} is not an ONNX text encoder loaded by model.load; only those can be saved");
        var model = onnx.Model;
        return model.Weights.Where(w => Saved(w, true)).Select(w => new Source(ModelPart.TextEncoder, w, ct => model.ReadWeight(w.Name, ct)));
    }

    private static IEnumerable<Source> VaeWeights(IVae vae)
    {
        if (vae is not OnnxVae onnx) throw new ArgumentException($"vae: {vae.GetType().Name} is not an ONNX VAE loaded by model.load or vae.load; only those can be saved");
        var files = new List<string>();
        if (onnx.Files.EncoderPath is { } encoder) files.Add(encoder);
        files.Add(onnx.Files.DecoderPath);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in files)
        {
            var file = OnnxModelFile.Read(path);
            foreach (var weight in file.Weights.Where(w => Saved(w, false) && seen.Add(w.Name)))
            {
                yield return new Source(ModelPart.Vae, weight, _ => file.ReadWeight(weight.Name));
            }
        }
    }

    // A model weight rather than a constant the graph builder made (timestep frequencies, GroupNorm's unit scale, scalars, Resize scales).
    private static bool Saved(WeightInfo weight, bool textEncoder) => ModelMerge.Takes(weight, textEncoder) && !FlowDiffusion.Onnx.GraphBuilder.IsGeneratedConstant(weight.Name);

    private static byte[] Bytes(Source source, WeightElementType type, CancellationToken cancellationToken)
    {
        var value = source.Read(cancellationToken);
        if (!value.Shape.SequenceEqual(source.Weight.Shape))
            throw new InvalidOperationException($"{Input(source.Part)}: weight '{source.Weight.Name}' reads as {value}, but the graph declares [{string.Join(", ", source.Weight.Shape)}]");
        if (value.ElementType == type)
        {
            return MemoryMarshal.TryGetArray(value.Data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : value.Data.ToArray();
        }

        var floats = value.ToFloats();
        if (type == WeightElementType.Float32) return MemoryMarshal.AsBytes(floats.AsSpan()).ToArray();
        var halves = Array.ConvertAll(floats, v => (Half)v);
        return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
    }

    private static SafetensorsDType DType(WeightElementType type) => type switch
    {
        WeightElementType.Float16 => SafetensorsDType.Float16,
        WeightElementType.BFloat16 => SafetensorsDType.BFloat16,
        _ => SafetensorsDType.Float32,
    };

    // ComfyUI's modelspec.predict_key ("epsilon" or "v") and whether the schedule is zero-terminal-SNR.
    private static (string PredictKey, bool ZeroSnr) Prediction(SchedulerConfigSource? config)
    {
        if (config is null) return ("epsilon", false);
        JsonObject json;
        try
        {
            json = JsonNode.Parse(config.Json) as JsonObject ?? throw new System.Text.Json.JsonException("not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"scheduler_config: not valid JSON ({e.Message})", e);
        }

        var type = json["prediction_type"]?.GetValue<string>() ?? "epsilon";
        return type switch
        {
            "epsilon" => ("epsilon", false),
            "v_prediction" => ("v", json["rescale_betas_zero_snr"]?.GetValue<bool>() == true),
            _ => throw new ArgumentException($"scheduler_config: prediction type '{type}' cannot be marked in a checkpoint (ComfyUI's modelspec.predict_key is epsilon or v)"),
        };
    }

    private static string Input(ModelPart part) => part switch { ModelPart.UNet => "unet", ModelPart.Vae => "vae", _ => "clip" };
}
