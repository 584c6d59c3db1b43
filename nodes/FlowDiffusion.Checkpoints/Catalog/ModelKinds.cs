namespace FlowDiffusion.Checkpoints.Catalog;

/// <summary>The kinds of model the catalog tells apart.</summary>
public static class ModelKinds
{
    /// <summary>A single-file checkpoint (UNet, text encoder and VAE in one .safetensors).</summary>
    public const string Checkpoint = "checkpoint";

    /// <summary>A diffusers-ONNX model folder (model_index.json, unet/model.onnx, …).</summary>
    public const string OnnxFolder = "onnx-folder";

    /// <summary>A diffusers folder with PyTorch-format .safetensors weights.</summary>
    public const string DiffusersFolder = "diffusers-folder";

    /// <summary>A LoRA (kohya or diffusers/PEFT keys).</summary>
    public const string Lora = "lora";

    /// <summary>A standalone VAE.</summary>
    public const string Vae = "vae";

    /// <summary>A textual-inversion embedding.</summary>
    public const string Embedding = "embedding";

    /// <summary>A CLIP tokenizer folder (vocab.json + merges.txt).</summary>
    public const string Tokenizer = "tokenizer";

    /// <summary>A file FlowDiffusion does not load: a pickle .ckpt/.pt, an unknown key layout, a damaged file.</summary>
    public const string Other = "other";
}
