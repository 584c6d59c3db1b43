using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Nodes.StableDiffusion.Models;
using FlowDiffusion.Sdk;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Nodes;

/// <summary>Opens a diffusers ONNX model folder; sessions are cached across runs.</summary>
[Node("model.load", "1.4.0", Category = "loaders", Title = "Load Model",
    Description = "Opens a Stable Diffusion 1.x or SDXL model (base or refiner): a diffusers ONNX folder (or OnnxStack's layout of it), a .safetensors checkpoint (or a PyTorch .ckpt, read without running its pickle) or a diffusers folder with .safetensors weights (converted once, then cached on disk): tokenizer, text encoder, UNet, VAE and scheduler configuration.")]
public sealed class ModelLoadNode : INode
{
    /// <summary>The model folder.</summary>
    [Parameter(Description = "The model folder (diffusers ONNX layout), .safetensors or .ckpt checkpoint or diffusers folder with .safetensors weights, relative to the working folder.", Kind = ParameterKind.ModelFolder)]
    public string Path { get; set; } = "models/tiny-sd";

    /// <summary>The CLIP tokenizer folder for a checkpoint that carries none.</summary>
    [Parameter(Description = "For a .safetensors checkpoint or an OnnxStack folder (which carry no CLIP vocabulary): a CLIP tokenizer folder (vocab.json + merges.txt); empty = models/tokenizers/clip-vit-large-patch14, then the Hugging Face cache.", Advanced = true)]
    public string TokenizerFolder { get; set; } = "";

    /// <summary>What a checkpoint's UNet predicts.</summary>
    [Parameter(Description = "For a .safetensors checkpoint or diffusers folder with .safetensors weights: what the UNet predicts. auto: v_prediction when the file carries ComfyUI's v_pred marker (then a ztsnr marker also means a zero-terminal-SNR schedule), else epsilon (most SD 1.x and SDXL models); name it for a v-model without the marker. ONNX folders say it in their scheduler config; OnnxStack folders, which have none, take SD's training schedule with this (auto: epsilon).",
        Choices = ["auto", "epsilon", "v_prediction"], Advanced = true)]
    public string PredictionType { get; set; } = "auto";

    /// <summary>A VAE to use instead of the model's.</summary>
    [Parameter(Description = "Optional: a VAE to use instead of the model's — a .safetensors VAE, a diffusers VAE folder or a folder with vae_decoder/model.onnx (as vae.load takes it); empty = the model's own.")]
    public string VaePath { get; set; } = "";

    /// <summary>The textual-inversion embeddings folder.</summary>
    [Parameter(Description = "The folder of textual-inversion embeddings (.safetensors) prompts may name as embedding:NAME or by the bare file name; a missing folder means none. SDXL embeddings hold clip_l and clip_g vectors, one table per text encoder.", Advanced = true)]
    public string Embeddings { get; set; } = EmbeddingFolder.Default;

    /// <summary>The ONNX Runtime execution provider.</summary>
    [Parameter(Description = "ONNX Runtime execution provider.", Choices = ["cpu", "cuda", "directml", "tensorrt", "coreml"])]
    public string Provider { get; set; } = "cpu";

    /// <summary>Options for the execution provider.</summary>
    [Parameter(Description = "Execution provider options as key=value pairs separated by ';', by ONNX Runtime's names, e.g. "
        + "device_id=1;cudnn_conv_algo_search=HEURISTIC;arena_extend_strategy=kSameAsRequested;gpu_mem_limit=8589934592 for cuda. Empty for the defaults.", Advanced = true)]
    public string ProviderOptions { get; set; } = "";

    /// <summary>The model's tokenizer.</summary>
    [Output(Description = "The model's CLIP tokenizer.")]
    public ITokenizer? Tokenizer { get; set; }

    /// <summary>The text encoder.</summary>
    [Output(Description = "The CLIP text encoder.")]
    public ITextEncoder? Clip { get; set; }

    /// <summary>The UNet.</summary>
    [Output(Description = "The UNet noise predictor.")]
    public IUNetModel? Unet { get; set; }

    /// <summary>The VAE.</summary>
    [Output(Description = "The VAE (encoder and decoder).")]
    public IVae? Vae { get; set; }

    /// <summary>The scheduler configuration.</summary>
    [Output(Description = "The model's scheduler/scheduler_config.json.")]
    public SchedulerConfigSource? SchedulerConfig { get; set; }

    /// <inheritdoc />
    public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
    {
        var folder = PathResolver.Resolve(context, Path);
        if (CheckpointCache.IsCheckpoint(folder))
        {
            // A replaced checkpoint is converted again (the disk cache is keyed by its size and time), and runs notice.
            context.DependsOn(folder);
            folder = PrepareCheckpoint(context, folder, cancellationToken);
        }

        var options = ProviderParameters.Parse(Provider, ProviderOptions);
        // OnnxStack's layout carries no CLIP vocabulary (its tokenizer is an ONNX graph): find one as for a checkpoint.
        var tokenizer = ModelFolder.Open(System.IO.Path.GetFullPath(folder)) is { HasTokenizerFiles: false } ? FindTokenizer(context) : null;
        var model = await ModelLibrary.Of(context).OpenWarmAsync(folder, options, context, cancellationToken, tokenizer).ConfigureAwait(false);
        (Tokenizer, Clip) = EmbeddingFolder.Attach(context, Embeddings, model.Tokenizer, model.TextEncoder,
            model.TextEncoder is SdxlTextEncoder ? model.Folder.Path : model.Folder.TextEncoderPath!);
        Unet = model.UNet;
        // SDXL's VAE files (sdxl_vae, the fp16-fix VAE) look like SD 1.x's; the latent scale belongs to the model family.
        var familyScale = model.Folder.TextEncoder2Path is null ? (float?)null : model.Folder.VaeScalingFactor;
        if (VaePath.Length == 0)
        {
            Vae = model.Vae;
        }
        else
        {
            var vae = PathResolver.Resolve(context, VaePath, "vae_path");
            context.DependsOn(vae);
            Vae = VaeLoadNode.Open(context, vae, options, cancellationToken, familyScale);
        }

        // A folder without a scheduler configuration (OnnxStack's layout) gets SD's training schedule, as OnnxStack assumes.
        SchedulerConfig = File.Exists(model.Folder.SchedulerConfigPath)
            ? new SchedulerConfigSource(File.ReadAllText(model.Folder.SchedulerConfigPath), model.Folder.SchedulerConfigPath)
            : new SchedulerConfigSource(DiffusersOnnxFolder.SchedulerConfigJson(PredictionType == "auto" ? "epsilon" : PredictionType), null);
    }

    // The tokenizer_folder given, else models/tokenizers/clip-vit-large-patch14, else the Hugging Face cache.
    private string FindTokenizer(INodeContext context) => TokenizerFolder.Length > 0
        ? TokenizerLocator.Find(PathResolver.Resolve(context, TokenizerFolder), context.WorkingDirectory)
        : TokenizerLocator.Find(null, context.WorkingDirectory);

    private string PrepareCheckpoint(INodeContext context, string checkpoint, CancellationToken cancellationToken)
    {
        var own = System.IO.Path.Combine(checkpoint, "tokenizer");
        var tokenizer = TokenizerFolder.Length == 0 && Directory.Exists(own) && File.Exists(System.IO.Path.Combine(own, "vocab.json")) ? own : FindTokenizer(context);
        return CheckpointCache.Prepare(checkpoint, tokenizer, CheckpointCache.DefaultRoot, CheckpointSampling.Of(checkpoint, PredictionType), () =>
            context.ReportProgress(new NodeProgress(0, $"converting {System.IO.Path.GetFileName(checkpoint)} to ONNX (first load only)")),
            Conversions.Limits(context, cancellationToken));
    }
}
