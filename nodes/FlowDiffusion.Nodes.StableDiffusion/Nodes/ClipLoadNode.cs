using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Loads an SD 1.x CLIP text tower saved alone (ComfyUI's CLIPLoader, type stable_diffusion), converted once and cached.</summary>
[Node("clip.load", "1.0.0", Category = "loaders", Title = "Load CLIP",
    Description = "Opens an SD 1.x CLIP ViT-L text encoder on its own — a .safetensors file in transformers' names (text_model.*), as ComfyUI's CLIPSave and model.save's clip layout write it and clip_l.safetensors holds it — converted once, then cached on disk; with a CLIP tokenizer.")]
public sealed class ClipLoadNode : INode
{
    /// <summary>The CLIP file.</summary>
    [Parameter(Description = "The text encoder: a .safetensors file in transformers' CLIP names (e.g. models/clip/ComfyUI_clip_l_00001_.safetensors), relative to the working folder.", Kind = ParameterKind.ModelFolder, Required = true)]
    public string Path { get; set; } = "";

    /// <summary>The CLIP tokenizer folder.</summary>
    [Parameter(Description = "A CLIP tokenizer folder (vocab.json + merges.txt); empty = models/tokenizers/clip-vit-large-patch14, then the Hugging Face cache.")]
    public string TokenizerFolder { get; set; } = "";

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

        var path = PathResolver.Resolve(context, Path);
        if (!File.Exists(path) || !path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new FileNotFoundException($"path: CLIP file '{Path}' not found or not a .safetensors file.", path);
        }

        context.DependsOn(path);
        var tokenizer = TokenizerFolder.Length > 0
            ? TokenizerLocator.Find(PathResolver.Resolve(context, TokenizerFolder, "tokenizer_folder"), context.WorkingDirectory)
            : TokenizerLocator.Find(null, context.WorkingDirectory);
        var folder = CheckpointCache.PrepareClip(path, tokenizer, CheckpointCache.DefaultRoot, () =>
            context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(path)} to ONNX (first load only)")), Conversions.Limits(context, cancellationToken));
        var clipTokenizer = ClipTokenizer.FromFolder(System.IO.Path.Combine(folder, "tokenizer"));
        Tokenizer = clipTokenizer;
        Clip = new OnnxTextEncoder(TextEncoder.Open(ModelLibrary.Of(context).Sessions, System.IO.Path.Combine(folder, "text_encoder", "model.onnx"), options), clipTokenizer.PadId);
        return Task.CompletedTask;
    }
}
