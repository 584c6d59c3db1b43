using System.Text.Json;
using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Writes an SD 1.x or SD 2.x checkpoint as a diffusers-ONNX model folder: <c>model_index.json</c>, the scheduler
/// configuration with SD's training schedule (SD 2.x trained on SD 1.x's), the tokenizer files (SD 2.x's padding with
/// "!"), and the four ONNX graphs with their <c>config.json</c>.
/// The folder appears whole or not at all: it is written beside the target and renamed into place.
/// </summary>
public static class DiffusersOnnxFolder
{
    /// <summary>SD 1.x's VAE latent scaling factor (no tensor records it).</summary>
    public const float ScalingFactor = 0.18215f;

    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>SD 2.x's padding token, written into converted SD 2.x folders' tokenizer (CLIP's id 0).</summary>
    public const string Sd2PadToken = "!";

    internal static readonly string[] TokenizerFiles = ["vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"];

    /// <summary>Writes the folder at <paramref name="target"/>, which must not exist yet; <paramref name="float16"/> writes an fp16 export (float16 weights, inputs and outputs).</summary>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="target">The folder to write.</param>
    /// <param name="tokenizerFolder">The CLIP tokenizer files to copy.</param>
    /// <param name="predictionType"><c>epsilon</c> or <c>v_prediction</c>.</param>
    /// <param name="float16">Whether to write an fp16 export.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <param name="zeroSnr">Whether the scheduler configuration asks for zero terminal SNR.</param>
    public static void Write(Sd1Checkpoint checkpoint, string target, string tokenizerFolder, string predictionType = "epsilon", bool float16 = false, CancellationToken cancellationToken = default,
        bool zeroSnr = false)
    {
        if (checkpoint.UNet is null || checkpoint.TextEncoder is null || checkpoint.Vae is null)
        {
            throw new CheckpointException($"{checkpoint.Weights.Source}: a model folder needs a UNet, a text encoder and a VAE; this checkpoint lacks " +
                string.Join(", ", new[] { ("UNet", checkpoint.UNet is null), ("text encoder", checkpoint.TextEncoder is null), ("VAE", checkpoint.Vae is null) }.Where(p => p.Item2).Select(p => p.Item1)) + ".");
        }

        if (Directory.Exists(target) || File.Exists(target))
        {
            throw new IOException($"'{target}' already exists; choose another --out or remove it.");
        }

        var full = Path.GetFullPath(target);
        var staging = full + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            WriteJson(staging, "model_index.json", w =>
            {
                w.WriteString("_class_name", "OnnxStableDiffusionPipeline");
                w.WriteString("_diffusers_version", "0.6.0");
                w.WriteBoolean("requires_safety_checker", false);
                foreach (var (name, library, type) in new[]
                {
                    ("scheduler", "diffusers", "PNDMScheduler"), ("text_encoder", "onnxruntime", "OnnxRuntimeModel"), ("tokenizer", "transformers", "CLIPTokenizer"),
                    ("unet", "onnxruntime", "OnnxRuntimeModel"), ("vae_decoder", "onnxruntime", "OnnxRuntimeModel"), ("vae_encoder", "onnxruntime", "OnnxRuntimeModel"),
                })
                {
                    w.WriteStartArray(name);
                    w.WriteStringValue(library);
                    w.WriteStringValue(type);
                    w.WriteEndArray();
                }
            });
            WriteJson(staging, "scheduler/scheduler_config.json", w => SchedulerConfig(w, predictionType, zeroSnr));
            Directory.CreateDirectory(Path.Combine(staging, "tokenizer"));
            foreach (var file in TokenizerFiles.Where(f => File.Exists(Path.Combine(tokenizerFolder, f))))
            {
                File.Copy(Path.Combine(tokenizerFolder, file), Path.Combine(staging, "tokenizer", file));
            }

            var sd2 = checkpoint.Family == ModelFamily.StableDiffusion2;
            if (sd2)
            {
                WriteSd2TokenizerSpecials(staging);
            }

            // SD 2.x's 768-v models draw at 768 pixels, the 512-base (epsilon) and SD 1.x at 512.
            var sampleSize = sd2 && predictionType == "v_prediction" ? 768 : 512;
            WriteModel(staging, "text_encoder", checkpoint.BuildTextEncoder, w => TextEncoderConfig(w, checkpoint.TextEncoder, sd2 ? "gelu" : "quick_gelu"), float16, cancellationToken: cancellationToken);
            WriteModel(staging, "unet", UNetBuilder(checkpoint.BuildUNet), w => UNetConfig(w, checkpoint.UNet, checkpoint.Vae.Factor, float16, sampleSize), float16, UNetVariantBuilders(checkpoint.BuildUNet), cancellationToken);
            WriteModel(staging, "vae_encoder", checkpoint.BuildVaeEncoder, w => VaeConfig(w, checkpoint.Vae, sampleSize), float16, cancellationToken: cancellationToken);
            WriteModel(staging, "vae_decoder", checkpoint.BuildVaeDecoder, w => VaeConfig(w, checkpoint.Vae, sampleSize), float16, cancellationToken: cancellationToken);
            Directory.Move(staging, full);
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }
    }

    /// <summary>
    /// Writes <c>tokenizer/special_tokens_map.json</c> under <paramref name="folder"/>: SD 2.x's tokenizer pads with "!" (id 0)
    /// after the end-of-text token, as its diffusers folders and ComfyUI do.
    /// </summary>
    internal static void WriteSd2TokenizerSpecials(string folder) =>
        WriteJson(folder, "tokenizer/special_tokens_map.json", w =>
        {
            w.WriteString("bos_token", "<|startoftext|>");
            w.WriteString("eos_token", "<|endoftext|>");
            w.WriteString("pad_token", Sd2PadToken);
            w.WriteString("unk_token", "<|endoftext|>");
        });

    /// <summary>
    /// SD 1.x's training schedule as diffusers' <c>scheduler_config.json</c> (LDM v1-inference.yaml: linear_start 0.00085,
    /// linear_end 0.012, 1000 steps), with what the UNet predicts: written into converted folders, and the schedule of
    /// model folders that carry no scheduler configuration (OnnxStack's layout).
    /// </summary>
    /// <param name="predictionType"><c>epsilon</c> or <c>v_prediction</c>.</param>
    /// <param name="zeroSnr">Whether to ask for zero terminal SNR (<c>rescale_betas_zero_snr</c>).</param>
    public static string SchedulerConfigJson(string predictionType = "epsilon", bool zeroSnr = false)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Indented))
        {
            writer.WriteStartObject();
            SchedulerConfig(writer, predictionType, zeroSnr);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    internal static void SchedulerConfig(Utf8JsonWriter w, string predictionType, bool zeroSnr)
    {
        // SD 1.x's training schedule (LDM v1-inference.yaml: linear_start 0.00085, linear_end 0.012, 1000 steps).
        w.WriteString("_class_name", "PNDMScheduler");
        w.WriteNumber("beta_start", 0.00085);
        w.WriteNumber("beta_end", 0.012);
        w.WriteString("beta_schedule", "scaled_linear");
        w.WriteNumber("num_train_timesteps", 1000);
        w.WriteBoolean("clip_sample", false);
        w.WriteBoolean("set_alpha_to_one", false);
        w.WriteBoolean("skip_prk_steps", true);
        w.WriteNumber("steps_offset", 1);
        w.WriteString("prediction_type", predictionType);
        if (zeroSnr) w.WriteBoolean("rescale_betas_zero_snr", true);
    }

    // The text encoder's config.json (CLIP ViT-L's quick GELU unless the family's tower says otherwise).
    internal static void TextEncoderConfig(Utf8JsonWriter w, TextEncoderArchitecture a, string activation = "quick_gelu")
    {
        w.WriteString("_class_name", "CLIPTextModel");
        w.WriteNumber("vocab_size", a.Vocabulary);
        w.WriteNumber("hidden_size", a.Width);
        w.WriteNumber("num_hidden_layers", a.Layers);
        w.WriteNumber("num_attention_heads", a.Heads);
        w.WriteNumber("max_position_embeddings", a.Positions);
        w.WriteString("hidden_act", activation);
    }

    // The UNet's config.json; its sample size is the family's image side (SD 1.x's 512) in latents of the VAE's downscaling factor.
    internal static void UNetConfig(Utf8JsonWriter w, UNetArchitecture a, int vaeFactor, bool float16, int imageSize = 512)
    {
        w.WriteString("_class_name", "UNet2DConditionModel");
        w.WriteNumber("in_channels", a.InChannels);
        w.WriteNumber("out_channels", a.OutChannels);
        w.WriteNumber("cross_attention_dim", a.ContextWidth);
        if (a.HeadWidth is { } headWidth)
        {
            // SD 2.x: diffusers writes its heads per level ([5, 10, 20, 20] at full size).
            w.WriteStartArray("attention_head_dim");
            foreach (var c in a.LevelChannels)
            {
                w.WriteNumberValue(a.HeadsAt(c));
            }

            w.WriteEndArray();
            w.WriteBoolean("use_linear_projection", true);
        }
        else
        {
            w.WriteNumber("attention_head_dim", a.Heads);
        }

        w.WriteNumber("layers_per_block", a.ResBlocksPerLevel);
        w.WriteStartArray("block_out_channels");
        foreach (var c in a.LevelChannels)
        {
            w.WriteNumberValue(c);
        }

        w.WriteEndArray();
        w.WriteNumber("sample_size", imageSize / vaeFactor);
        w.WriteString("timestep_dtype", float16 ? "float16" : "float32");
    }

    // The VAE's config.json; SD 1.x's image size and latent scaling unless a family (SDXL) gives its own.
    internal static void VaeConfig(Utf8JsonWriter w, VaeArchitecture a, int sampleSize = 512, float scalingFactor = ScalingFactor)
    {
        w.WriteString("_class_name", "AutoencoderKL");
        w.WriteNumber("in_channels", a.ImageChannels);
        w.WriteNumber("out_channels", a.ImageChannels);
        w.WriteNumber("latent_channels", a.LatentChannels);
        w.WriteNumber("layers_per_block", a.ResBlocksPerLevel);
        w.WriteNumber("sample_size", sampleSize);
        w.WriteNumber("scaling_factor", scalingFactor);
    }

    /// <summary>The external data file beside each <c>model.onnx</c> (weights as float32, or float16 in an fp16 export, one tensor after another).</summary>
    public const string WeightsFile = "model.onnx.data";

    /// <summary>
    /// The UNet graph that also takes ControlNet residuals (<see cref="UNetExtraInputs.ControlResiduals"/>), written beside
    /// <c>unet/model.onnx</c> and reading the same weight file.
    /// </summary>
    public const string ControlledUNetFile = "controlled.onnx";

    /// <summary>
    /// The UNet graph that also takes IP-Adapter keys, values and scales (<see cref="UNetExtraInputs.IpAdapter"/>), written
    /// beside <c>unet/model.onnx</c> and reading the same weight file.
    /// </summary>
    public const string IpAdaptedUNetFile = "ipadapter.onnx";

    /// <summary>The UNet graph that takes both ControlNet residuals and IP-Adapter inputs, written beside the others.</summary>
    public const string IpAdaptedControlledUNetFile = "ipadapter-controlled.onnx";

    /// <summary>
    /// The optional inputs every UNet graph the builder writes takes, <c>unet/model.onnx</c> and each variant: FreeU's
    /// factors (<see cref="UNetExtraInputs.FreeU"/>), PAG's row mask (<see cref="UNetExtraInputs.PerturbedAttention"/>) and
    /// Deep Shrink's block and scale (<see cref="UNetExtraInputs.DeepShrink"/>) and SAG's attention rows (<see cref="UNetExtraInputs.SelfAttentionMap"/>,
    /// an extra output), whose defaults give the plain UNet bit for bit. Left at their defaults FreeU and PAG cost no measurable
    /// step time on an SD 1.5-sized UNet (docs/benchmarks.md); Deep Shrink's If nodes cost about 1.5 % of a CPU call on a
    /// half-width one (GPU unmeasured); SAG's map runs on empty tensors (counted, not timed). No separate FreeU, PAG, Deep
    /// Shrink or SAG files are written. HyperTile's tiles (<see cref="UNetExtraInputs.HyperTile"/>) wrap each self-attention in
    /// an If whose default takes the plain branch; so do ToMe's token order and counts (<see cref="UNetExtraInputs.TokenMerge"/>).
    /// </summary>
    public const UNetExtraInputs EveryUNetGraph = UNetExtraInputs.FreeU | UNetExtraInputs.PerturbedAttention | UNetExtraInputs.DeepShrink | UNetExtraInputs.SelfAttentionMap
        | UNetExtraInputs.HyperTile | UNetExtraInputs.TokenMerge;

    /// <summary>The UNet graph variants written beside <c>unet/model.onnx</c> (file, extra inputs), each reading its weight file.</summary>
    public static IReadOnlyList<(string File, UNetExtraInputs Extras)> UNetVariants { get; } =
    [
        (ControlledUNetFile, UNetExtraInputs.ControlResiduals | EveryUNetGraph),
        (IpAdaptedUNetFile, UNetExtraInputs.IpAdapter | EveryUNetGraph),
        (IpAdaptedControlledUNetFile, UNetExtraInputs.ControlResiduals | UNetExtraInputs.IpAdapter | EveryUNetGraph),
    ];

    /// <summary>The builder of <c>unet/model.onnx</c> from a checkpoint's variant builder: the plain UNet with <see cref="EveryUNetGraph"/>.</summary>
    internal static Func<WeightBinding?, OnnxModel> UNetBuilder(Func<UNetExtraInputs, WeightBinding?, OnnxModel> build) => binding => build(EveryUNetGraph, binding);

    /// <summary>The builders of <see cref="UNetVariants"/> for a checkpoint's variant builder.</summary>
    internal static IReadOnlyList<(string File, Func<WeightBinding?, OnnxModel> Build)> UNetVariantBuilders(Func<UNetExtraInputs, WeightBinding?, OnnxModel> build) =>
        [.. UNetVariants.Select(v => (v.File, (Func<WeightBinding?, OnnxModel>)(binding => build(v.Extras, binding))))];

    // Weights go to an external data file, so a model past protobuf's 2 GB limit (SD's fp32 UNet) writes one tensor at a time.
    // A variant graph over the same weights (the controlled or IP-adapted UNet) reuses the tensors the first graph wrote.
    internal static void WriteModel(string root, string part, Func<WeightBinding?, OnnxModel> build, Action<Utf8JsonWriter> config, bool float16 = false, IReadOnlyList<(string File, Func<WeightBinding?, OnnxModel> Build)>? variants = null, CancellationToken cancellationToken = default)
    {
        variants ??= [];
        cancellationToken.ThrowIfCancellationRequested();
        Directory.CreateDirectory(Path.Combine(root, part));
        OnnxModel model;
        var others = new List<OnnxModel>();
        using (var weights = new ExternalWeightFile(Path.Combine(root, part, WeightsFile), float16, cancellationToken))
        {
            var shared = new SharedWeightBinding(weights);
            model = build(shared);
            others.AddRange(variants.Select(v => v.Build(shared)));
        }

        if (float16)
        {
            model = Float16Model.Convert(model);
            others = [.. others.Select(Float16Model.Convert)];
        }

        File.WriteAllBytes(Path.Combine(root, part, "model.onnx"), model.ToBytes());
        for (var i = 0; i < variants.Count; i++)
        {
            File.WriteAllBytes(Path.Combine(root, part, variants[i].File), others[i].ToBytes());
        }

        WriteJson(root, part + "/config.json", config);
    }

    internal static void WriteJson(string root, string relative, Action<Utf8JsonWriter> body)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, Indented);
        w.WriteStartObject();
        body(w);
        w.WriteEndObject();
    }
}
