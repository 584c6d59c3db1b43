using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>
/// Loads CLIP text towers saved alone, converted once and cached: one SD 1.x CLIP ViT-L or SD 2.x OpenCLIP ViT-H file
/// (ComfyUI's CLIPLoader, stable_diffusion; ViT-H told by a 23rd layer, run to its penultimate layer and padded with id 0
/// as ComfyUI's SD2 CLIP), one OpenCLIP ViT-bigG file (the same CLIPLoader with a clip_g file: the SDXL refiner's CLIP), or
/// SDXL's two in either order (DualCLIPLoader, sdxl).
/// </summary>
[Node("clip.load", "1.2.0", Category = "loaders", Title = "Load CLIP",
    Description = "Opens CLIP text encoders on their own — .safetensors files in transformers' names (text_model.*), as ComfyUI's CLIPSave and model.save's clip layout write them "
        + "and clip_l.safetensors / clip_g.safetensors hold them, or in OpenCLIP's names — converted once, then cached on disk; with a CLIP tokenizer. "
        + "One file: an SD 1.x CLIP ViT-L, an SD 2.x OpenCLIP ViT-H (a 23rd layer, as ComfyUI tells it: conditioning on its penultimate layer, prompts padded with id 0), or an OpenCLIP ViT-bigG as the SDXL refiner's CLIP; path and path2 together: SDXL's CLIP ViT-L and OpenCLIP ViT-bigG, in either order. "
        + "Textual-inversion embeddings from the embeddings folder, as model.load's.")]
public sealed class ClipLoadNode : INode
{
    /// <summary>The CLIP file.</summary>
    [Parameter(Description = "The text encoder: a .safetensors file in transformers' or OpenCLIP's names (e.g. models/clip/ComfyUI_clip_l_00001_.safetensors), relative to the working folder.", Kind = ParameterKind.ModelFolder, Required = true)]
    public string Path { get; set; } = "";

    /// <summary>SDXL's other text tower, or empty.</summary>
    [Parameter(Description = "For SDXL: the other text encoder's .safetensors file (clip_l beside a clip_g in path, or the other way round; ComfyUI's DualCLIPLoader); empty = path alone.", Kind = ParameterKind.ModelFolder)]
    public string Path2 { get; set; } = "";

    /// <summary>The CLIP tokenizer folder.</summary>
    [Parameter(Description = "A CLIP tokenizer folder (vocab.json + merges.txt); empty = models/tokenizers/clip-vit-large-patch14, then the Hugging Face cache.")]
    public string TokenizerFolder { get; set; } = "";

    /// <summary>The textual-inversion embeddings folder.</summary>
    [Parameter(Description = "The folder of textual-inversion embeddings (.safetensors) prompts may name as embedding:NAME or by the bare file name, as ComfyUI's CLIP loaders read its embeddings folder; a missing folder means none. SDXL embeddings hold clip_l and clip_g vectors, one table per text encoder.", Advanced = true)]
    public string Embeddings { get; set; } = EmbeddingFolder.Default;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>Options for the execution provider.</summary>
    [Parameter(Description = "Execution provider options as key=value pairs separated by ';', as model.load takes them. Empty for the defaults.")]
    public string ProviderOptions { get; set; } = "";

    /// <summary>The tokenizer.</summary>
    [Output(Description = "The CLIP tokenizer.")]
    public ITokenizer? Tokenizer { get; set; }

    /// <summary>The text encoder.</summary>
    [Output(Description = "The CLIP text encoder.")]
    public ITextEncoder? Clip { get; set; }

    /// <inheritdoc />
    public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var options = ProviderParameters.Parse(Provider, ProviderOptions);

        var paths = new List<string> { Resolve(context, Path, "path") };
        if (Path2.Length > 0)
        {
            paths.Add(Resolve(context, Path2, "path2"));
        }

        var tokenizer = TokenizerFolder.Length > 0
            ? TokenizerLocator.Find(PathResolver.Resolve(context, TokenizerFolder, "tokenizer_folder"), context.WorkingDirectory)
            : TokenizerLocator.Find(null, context.WorkingDirectory);
        var folder = CheckpointCache.PrepareClip(paths, tokenizer, CheckpointCache.DefaultRoot, () =>
            context.ReportProgress(new NodeProgress(0, $"converting {string.Join(" and ", paths.Select(System.IO.Path.GetFileName))} to ONNX (first load only)")), Conversions.Limits(context, cancellationToken));
        var clipTokenizer = ClipTokenizer.FromFolder(System.IO.Path.Combine(folder, "tokenizer"));
        var sessions = ModelLibrary.Of(context).Sessions;
        var first = System.IO.Path.Combine(folder, "text_encoder", "model.onnx");
        var second = System.IO.Path.Combine(folder, "text_encoder_2", "model.onnx");
        ITextEncoder clip = File.Exists(second)
            ? SdxlTextEncoder.Open(sessions, File.Exists(first) ? first : null, second, clipTokenizer, options)
            : new OnnxTextEncoder(TextEncoder.Open(sessions, first, options), clipTokenizer.PadId);
        (Tokenizer, Clip) = EmbeddingFolder.Attach(context, Embeddings, clipTokenizer, clip, File.Exists(second) ? folder : first);
        return Task.CompletedTask;
    }

    // A CLIP file inside the host's input folders; a replaced file is converted again and runs notice.
    private static string Resolve(INodeContext context, string value, string parameter)
    {
        var path = PathResolver.Resolve(context, value, parameter);
        if (!File.Exists(path) || !WeightFiles.IsWeightFile(path))
        {
            throw new FileNotFoundException($"{parameter}: CLIP file '{value}' not found or not a weight file ({string.Join(", ", WeightFiles.Extensions)}).", path);
        }

        context.DependsOn(path);
        return path;
    }
}
