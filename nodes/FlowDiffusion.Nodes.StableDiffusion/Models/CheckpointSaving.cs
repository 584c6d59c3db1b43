using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>
/// Writes model handles back as ComfyUI's save nodes write them: an SD 1.x or SD 2.x LDM or SDXL SGM single file (CheckpointSave,
/// and ModelSave with the UNet alone), a VAE file in LDM's names (VAESave) or one transformers-CLIP file per text tower
/// (CLIPSave). Every weight is written with the handle's overrides applied (a merge, a LoRA), read one at a time and
/// streamed to the file (<see cref="SafetensorsWriter"/>), under the key the importer reads it from
/// (<see cref="LdmCheckpointLayout"/>); SDXL's and SD 2.x's OpenCLIP q, k and v are written into their fused <c>in_proj</c>
/// by rows, and SD 2.x's tower gets back a last layer (<see cref="Sd2TowerEnd"/>).
/// Graph constants (<see cref="ModelMerge.Takes"/>, <see cref="FlowDiffusion.Onnx.GraphBuilder.IsGeneratedConstant"/>) are not written; a weight with no place in the layout (a graph exported
/// elsewhere) fails the save, naming it, before anything is written.
/// </summary>
internal static class CheckpointSaving
{
    /// <summary>The precisions the file can be written in: the graph's own, or every weight converted.</summary>
    public static readonly string[] Precisions = ["model", "float16", "float32"];

    /// <summary>What is written: a whole checkpoint, the text encoders alone (one file per tower) or the VAE alone.</summary>
    public static readonly string[] Layouts = ["checkpoint", "clip", "vae"];

    /// <summary>ComfyUI's <c>modelspec.architecture</c> for an SDXL base and refiner single file.</summary>
    private const string SdxlBase = "stable-diffusion-xl-v1-base", SdxlRefiner = "stable-diffusion-xl-v1-refiner";

    private sealed record Source(ModelPart Part, WeightInfo Weight, Func<CancellationToken, WeightTensor> Read);

    /// <summary>
    /// One file to write: the suffix its name takes after the prefix (CLIPSave's <c>_clip_l</c>, <c>_clip_g</c>), its
    /// tensors, the reader of each one's bytes, its own metadata and, for an SDXL checkpoint, the <c>modelspec.architecture</c>
    /// ComfyUI writes (with <c>modelspec.title</c> and the rest, which need the file's number).
    /// </summary>
    public sealed record SavedFile(string Suffix, IReadOnlyList<(string Name, SafetensorsDType DType, long[] Shape)> Layout, Func<string, byte[]> Read,
        IReadOnlyDictionary<string, string> Metadata, string? Architecture);

    /// <summary>The files <paramref name="layout"/> writes for the handles given; every check is made here, before anything is written.</summary>
    public static IReadOnlyList<SavedFile> Plan(string layout, IUNetModel? unet, ITextEncoder? clip, IVae? vae, SchedulerConfigSource? config, string precision,
        CancellationToken cancellationToken)
    {
        if (Array.IndexOf(Layouts, layout) < 0)
            throw new ArgumentException($"parameter 'layout': '{layout}' is none of {string.Join(", ", Layouts)}");
        if (Array.IndexOf(Precisions, precision) < 0)
            throw new ArgumentException($"parameter 'precision': '{precision}' is none of {string.Join(", ", Precisions)}");
        switch (layout)
        {
            case "vae":
                if (unet is not null || clip is not null) throw new ArgumentException($"{(unet is not null ? "unet" : "clip")}: layout vae writes the VAE alone (ComfyUI's VAESave); leave unet and clip unconnected or use layout checkpoint");
                if (vae is null) throw new ArgumentException("vae: layout vae needs a VAE to save");
                return [VaeFile(vae, precision, cancellationToken)];
            case "clip":
                if (unet is not null || vae is not null) throw new ArgumentException($"{(unet is not null ? "unet" : "vae")}: layout clip writes the text encoders alone (ComfyUI's CLIPSave); leave unet and vae unconnected or use layout checkpoint");
                if (clip is null) throw new ArgumentException("clip: layout clip needs a text encoder to save");
                return ClipFiles(clip, precision, cancellationToken);
            default:
                return [CheckpointFile(unet, clip, vae, config, precision, cancellationToken)];
        }
    }

    private static SavedFile CheckpointFile(IUNetModel? unet, ITextEncoder? clip, IVae? vae, SchedulerConfigSource? config, string precision, CancellationToken cancellationToken)
    {
        if (unet is null && clip is null && vae is null) throw new ArgumentException("nothing to save: connect a unet, a clip or a vae");
        var unetSources = unet is null ? [] : UNetWeights(unet).ToList();
        var unetFamily = unet is null ? null : unet is OnnxUNetModel { Model.TakesAddedConditioning: true } ? "SDXL" : IsSd2UNet(unetSources) ? "SD 2.x" : "SD 1.x";
        var clipFamily = clip is null ? null : ClipFamily(clip);
        var mixed = unetFamily is not null && clipFamily is not null && unetFamily != clipFamily
            ? new ArgumentException($"clip: an {clipFamily} text encoder with an {unetFamily} UNet; a checkpoint holds one model family's networks, so save the text encoder of the UNet's model")
            : null;
        if (mixed is not null && (unetFamily == "SDXL" || clipFamily == "SDXL")) throw mixed;
        // The text encoder decides the layout, so a graph that cannot be written at all (an ONNX export) is named first.
        var family = clipFamily ?? unetFamily;
        var sdxl = family == "SDXL";
        var refiner = clip is SdxlTextEncoder { First: null } || unet is OnnxUNetModel { Model: { TakesAddedConditioning: true, TimeIdCount: 5 } };
        var sources = new List<Source>(unetSources);
        // SD 2.x's tower goes where SDXL's OpenCLIP tower goes, in OpenCLIP's layout, under its own prefix.
        if (clip is not null) sources.AddRange(family == "SD 2.x" ? TextEncoderWeights(clip).Select(s => s with { Part = ModelPart.TextEncoder2 }) : TextEncoderWeights(clip));
        if (vae is not null) sources.AddRange(VaeWeights(vae));
        var openClipPrefix = family == "SD 2.x" ? Sd2Keys.TextEncoderPrefix : sdxl ? (refiner ? OpenClipKeyMap.RefinerPrefix : OpenClipKeyMap.Prefix) : null;
        var (layout, read) = Layout(sources, openClipPrefix, precision, key => key, cancellationToken);
        if (mixed is not null) throw mixed;
        if (family == "SD 2.x" && clip is not null) read = Sd2TowerEnd.Append(layout, read);

        // ComfyUI writes these for a v-prediction model: empty tensors the loaders read as markers.
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var (predictKey, zeroSnr) = Prediction(config);
        metadata["modelspec.predict_key"] = predictKey;
        if (predictKey == "v")
        {
            layout.Add(("v_pred", SafetensorsDType.Float32, [0]));
            if (zeroSnr) layout.Add(("ztsnr", SafetensorsDType.Float32, [0]));
        }

        return new SavedFile("", layout, key => key is "v_pred" or "ztsnr" ? [] : read(key), metadata, sdxl ? (refiner ? SdxlRefiner : SdxlBase) : null);
    }

    // VAESave: the VAE's keys as a checkpoint holds them, less first_stage_model. (what ComfyUI's vae.get_sd() gives and VAELoader reads).
    private static SavedFile VaeFile(IVae vae, string precision, CancellationToken cancellationToken)
    {
        var (layout, read) = Layout([.. VaeWeights(vae)], null, precision, key => key[LdmKeyMap.VaePrefix.Length..], cancellationToken);
        return new SavedFile("", layout, read, new Dictionary<string, string>(), null);
    }

    // CLIPSave: one file per tower (_clip_l, or _clip_h for SD 2.x's, and _clip_g for SDXL's second), in transformers CLIP's names (text_model.*,
    // text_projection.weight as a linear layer's [out, in]), which are our graphs' own; ComfyUI marks them format pt.
    private static List<SavedFile> ClipFiles(ITextEncoder clip, string precision, CancellationToken cancellationToken)
    {
        var sdxl = clip is SdxlTextEncoder;
        var sources = TextEncoderWeights(clip).ToList();
        var files = new List<SavedFile>();
        foreach (var (part, suffix) in new[] { (ModelPart.TextEncoder, ClipFamily(clip) == "SD 2.x" ? "_clip_h" : "_clip_l"), (ModelPart.TextEncoder2, "_clip_g") })
        {
            var tower = sources.Where(s => s.Part == part).ToList();
            if (tower.Count == 0) continue;
            // Placed in a checkpoint first: only weights the importer reads back have the names a loader expects.
            Place(tower, sdxl ? OpenClipKeyMap.Prefix : null);
            var byName = tower.ToDictionary(s => s.Weight.Name, StringComparer.Ordinal);
            files.Add(new SavedFile(suffix, [.. tower.Select(s => (s.Weight.Name, DType(ElementType(s, precision)), s.Weight.Shape.ToArray()))],
                name => Bytes(byName[name], ElementType(byName[name], precision), cancellationToken), new Dictionary<string, string> { ["format"] = "pt" }, null));
        }

        return files;
    }

    // The keys (renamed by rename), stored shapes and byte readers of sources placed as openClipPrefix says (null: SD 1.x);
    // a weight with no place fails here, before anything is written.
    private static (List<(string Name, SafetensorsDType DType, long[] Shape)> Layout, Func<string, byte[]> Read) Layout(IReadOnlyList<Source> sources,
        string? openClipPrefix, string precision, Func<string, string> rename, CancellationToken cancellationToken)
    {
        var placed = Place(sources, openClipPrefix);
        var byName = sources.ToDictionary(s => (s.Part, s.Weight.Name));
        var layout = new List<(string Name, SafetensorsDType DType, long[] Shape)>();
        var readers = new Dictionary<string, Func<byte[]>>(StringComparer.Ordinal);
        foreach (var group in placed.GroupBy(p => p.Key, StringComparer.Ordinal))
        {
            var pieces = group.OrderBy(p => p.Rows?.Start ?? 0).Select(p => (Placement: p, Source: byName[(p.Part, p.Name)])).ToList();
            var types = pieces.Select(p => ElementType(p.Source, precision)).Distinct().ToList();
            // Fused pieces of differing types (a LoRA patched q alone in float32) are written in the widest.
            var type = types.Count == 1 ? types[0] : WeightElementType.Float32;
            var first = pieces[0].Placement;
            var key = rename(group.Key);
            layout.Add((key, DType(type), first.Shape));
            readers[key] = pieces.Count == 1 && first.Rows is null
                ? () => first.Transposed ? Transpose(Bytes(pieces[0].Source, type, cancellationToken), first.Shape, type) : Bytes(pieces[0].Source, type, cancellationToken)
                : () => Fused(pieces, type, cancellationToken);
        }

        return (layout, key => readers[key]());
    }

    // Where each source goes (openClipPrefix null: SD 1.x); a weight with no place fails the save, naming it.
    private static IReadOnlyList<LdmPlacement> Place(IReadOnlyList<Source> sources, string? openClipPrefix)
    {
        var (placed, unplaced) = LdmCheckpointLayout.Place([.. sources.Select(s => (s.Part, s.Weight.Name, s.Weight.Shape.ToArray()))], openClipPrefix);
        if (unplaced.Count > 0)
        {
            var first = unplaced.GroupBy(u => u.Part).First();
            throw new ArgumentException(
                $"{unplaced.Count} weight(s) have no place in {(openClipPrefix is null ? "an SD 1.x" : openClipPrefix == Sd2Keys.TextEncoderPrefix ? "an SD 2.x" : "an SDXL")} checkpoint, e.g. {Input(first.Key)}'s {string.Join(", ", first.Take(3).Select(u => $"'{u.Name}'"))}: "
                + "only graphs FlowDiffusion built from a checkpoint (model.load of a .safetensors file) name and lay out their weights as the checkpoint did; "
                + "an ONNX export names, fuses or transposes them its own way, so it cannot be written back. Load the model from its .safetensors file to save it");
        }

        return placed;
    }

    // OpenCLIP's in_proj: q, k and v one after another on the first axis, each exactly the rows its placement names.
    private static byte[] Fused(List<(LdmPlacement Placement, Source Source)> pieces, WeightElementType type, CancellationToken cancellationToken)
    {
        var shape = pieces[0].Placement.Shape;
        var row = shape.Skip(1).Aggregate(1L, (a, b) => a * b) * Size(type);
        var bytes = new byte[checked(shape[0] * row)];
        long next = 0;
        foreach (var (placement, source) in pieces)
        {
            var (start, count) = placement.Rows ?? (0, shape[0]);
            if (start != next) throw new InvalidOperationException($"{placement.Key}: rows {next}–{start} would be left unwritten");
            var piece = Bytes(source, type, cancellationToken);
            if (piece.LongLength != count * row) throw new InvalidOperationException($"{placement.Key}: '{placement.Name}' is {piece.LongLength} bytes, not its {count} rows");
            piece.CopyTo(bytes, start * row);
            next = start + count;
        }

        return next == shape[0] ? bytes : throw new InvalidOperationException($"{pieces[0].Placement.Key}: rows {next}–{shape[0]} would be left unwritten");
    }

    // The stored [columns, rows] matrix from the graph's [rows, columns] (stored is the shape written).
    private static byte[] Transpose(byte[] value, long[] stored, WeightElementType type)
    {
        var (rows, columns, size) = ((int)stored[1], (int)stored[0], Size(type));
        var result = new byte[value.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                Buffer.BlockCopy(value, ((r * columns) + c) * size, result, ((c * rows) + r) * size, size);
            }
        }

        return result;
    }

    private static int Size(WeightElementType type) => type == WeightElementType.Float32 ? 4 : 2;

    private static WeightElementType ElementType(Source source, string precision) =>
        precision switch { "float16" => WeightElementType.Float16, "float32" => WeightElementType.Float32, _ => source.Weight.ElementType!.Value };

    private static IEnumerable<Source> UNetWeights(IUNetModel unet)
    {
        if (unet is not OnnxUNetModel onnx) throw new ArgumentException($"unet: {unet.GetType().Name} is not an ONNX UNet loaded by model.load; only those can be saved");
        var model = onnx.Model;
        return model.Weights.Where(w => Saved(w, false)).Select(w => new Source(ModelPart.UNet, w, ct => model.ReadWeight(w.Name, ct)));
    }

    // SD 2.x's UNet projects into its transformers with linear layers, without SDXL's added embedding.
    private static bool IsSd2UNet(IEnumerable<Source> unet) =>
        unet.Any(s => s.Weight.Name.EndsWith(".proj_in.weight", StringComparison.Ordinal) && s.Weight.Shape.Count == 2);

    // SD 2.x's text encoder is the one whose tokenizer pads with id 0 (converted from an OpenCLIP ViT-H tower); SD 1.x's pads with the end-of-text token.
    private static string ClipFamily(ITextEncoder clip) => clip is SdxlTextEncoder ? "SDXL" : clip is OnnxTextEncoder { PadId: 0 } ? "SD 2.x" : "SD 1.x";

    private static IEnumerable<Source> TextEncoderWeights(ITextEncoder clip)
    {
        if (clip is SdxlTextEncoder sdxl)
        {
            var towers = new List<Source>();
            if (sdxl.First is { } first) towers.AddRange(first.Weights.Where(w => Saved(w, true)).Select(w => new Source(ModelPart.TextEncoder, w, ct => first.ReadWeight(w.Name, ct))));
            var second = sdxl.Second;
            towers.AddRange(second.Weights.Where(w => Saved(w, true)).Select(w => new Source(ModelPart.TextEncoder2, w, ct => second.ReadWeight(w.Name, ct))));
            return towers;
        }

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

    private static string Input(ModelPart part) => part switch { ModelPart.UNet => "unet", ModelPart.Vae => "vae", ModelPart.TextEncoder2 => "clip (second tower)", _ => "clip" };
}
