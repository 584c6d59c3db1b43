using System.Text.Json;
using FlowDiffusion.Checkpoints.Architecture;

namespace FlowDiffusion.Checkpoints.Export;

/// <summary>
/// Writes an SDXL checkpoint as a diffusers-ONNX SDXL folder (optimum's layout): <c>model_index.json</c>, SDXL's
/// training schedule for Euler, <c>tokenizer</c> and <c>tokenizer_2</c>, <c>text_encoder</c> (CLIP ViT-L),
/// <c>text_encoder_2</c> (OpenCLIP ViT-bigG with <c>text_embeds</c>), the UNet (with <c>text_embeds</c> and
/// <c>time_ids</c>) and the VAE halves with SDXL's scaling factor. A refiner's folder is its img2img pipeline: OpenCLIP alone
/// (<c>tokenizer_2</c>, <c>text_encoder_2</c>), a UNet with the aesthetic score among its time ids, and the VAE. Written beside
/// the target and renamed into place.
/// </summary>
public static class SdxlOnnxFolder
{
    /// <summary>
    /// Writes the folder at <paramref name="target"/>, which must not exist yet. <paramref name="optimumLayout"/> writes
    /// it as <c>optimum-cli export onnx</c> does: diffusers' <c>model_index.json</c> (<c>StableDiffusionXLPipeline</c>,
    /// <c>vae</c> rather than its halves) and text encoders that declare every layer's hidden states
    /// (<c>hidden_states.0</c> … <c>hidden_states.N</c>) — so tests can load such a folder without a real export.
    /// </summary>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="target">The folder to write.</param>
    /// <param name="tokenizerFolder">The CLIP tokenizer files to copy.</param>
    /// <param name="predictionType"><c>epsilon</c> or <c>v_prediction</c>.</param>
    /// <param name="optimumLayout">Whether to write optimum's layout.</param>
    /// <param name="cancellationToken">Cancels the export.</param>
    /// <param name="zeroSnr">Whether the scheduler configuration asks for zero terminal SNR.</param>
    public static void Write(SdxlCheckpoint checkpoint, string target, string tokenizerFolder, string predictionType = "epsilon", bool optimumLayout = false, CancellationToken cancellationToken = default,
        bool zeroSnr = false)
    {
        var refiner = checkpoint.IsRefiner;
        if (checkpoint.UNet is not { } unet || (checkpoint.TextEncoder is null && !refiner) || checkpoint.TextEncoder2 is null || checkpoint.Vae is not { } vae)
        {
            throw new CheckpointException($"{checkpoint.Weights.Source}: an SDXL model folder needs the UNet, {(refiner ? "the OpenCLIP text encoder" : "both text encoders")} and the VAE; this checkpoint lacks " +
                string.Join(", ", new[] { ("UNet", checkpoint.UNet is null), ("text encoder", checkpoint.TextEncoder is null && !refiner), ("text encoder 2", checkpoint.TextEncoder2 is null), ("VAE", checkpoint.Vae is null) }.Where(p => p.Item2).Select(p => p.Item1)) + ".");
        }

        if (Directory.Exists(target) || File.Exists(target))
        {
            throw new IOException($"'{target}' already exists; choose another --out or remove it.");
        }

        var full = Path.GetFullPath(target);
        var staging = full + ".partial-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            DiffusersOnnxFolder.WriteJson(staging, "model_index.json", w =>
            {
                // A refiner is an img2img pipeline whose UNet embeds the aesthetic score; it has no CLIP ViT-L tower or tokenizer.
                w.WriteString("_class_name", (optimumLayout ? "" : "ORT") + (refiner ? "StableDiffusionXLImg2ImgPipeline" : "StableDiffusionXLPipeline"));
                w.WriteString("_diffusers_version", "0.24.0");
                if (optimumLayout)
                {
                    w.WriteBoolean("force_zeros_for_empty_prompt", !refiner);
                }

                if (refiner)
                {
                    w.WriteBoolean("requires_aesthetics_score", true);
                }

                var components = optimumLayout
                    ? new[]
                    {
                        ("scheduler", "diffusers", "EulerDiscreteScheduler"), ("text_encoder", "transformers", "CLIPTextModel"), ("text_encoder_2", "transformers", "CLIPTextModelWithProjection"),
                        ("tokenizer", "transformers", "CLIPTokenizer"), ("tokenizer_2", "transformers", "CLIPTokenizer"), ("unet", "diffusers", "UNet2DConditionModel"),
                        ("vae", "diffusers", "AutoencoderKL"),
                    }
                    : new[]
                    {
                        ("scheduler", "diffusers", "EulerDiscreteScheduler"), ("text_encoder", "onnxruntime", "OnnxRuntimeModel"), ("text_encoder_2", "onnxruntime", "OnnxRuntimeModel"),
                        ("tokenizer", "transformers", "CLIPTokenizer"), ("tokenizer_2", "transformers", "CLIPTokenizer"), ("unet", "onnxruntime", "OnnxRuntimeModel"),
                        ("vae_decoder", "onnxruntime", "OnnxRuntimeModel"), ("vae_encoder", "onnxruntime", "OnnxRuntimeModel"),
                    };
                foreach (var (name, library, type) in components)
                {
                    w.WriteStartArray(name);
                    if (refiner && name is "text_encoder" or "tokenizer")
                    {
                        w.WriteNullValue();
                        w.WriteNullValue();
                    }
                    else
                    {
                        w.WriteStringValue(library);
                        w.WriteStringValue(type);
                    }

                    w.WriteEndArray();
                }
            });
            DiffusersOnnxFolder.WriteJson(staging, "scheduler/scheduler_config.json", w => SchedulerConfig(w, predictionType, zeroSnr));
            foreach (var folder in refiner ? ["tokenizer_2"] : new[] { "tokenizer", "tokenizer_2" })
            {
                Directory.CreateDirectory(Path.Combine(staging, folder));
                foreach (var file in DiffusersOnnxFolder.TokenizerFiles.Where(f => File.Exists(Path.Combine(tokenizerFolder, f))))
                {
                    File.Copy(Path.Combine(tokenizerFolder, file), Path.Combine(staging, folder, file));
                }
            }

            WriteTextEncoders(checkpoint, staging, optimumLayout, cancellationToken);
            DiffusersOnnxFolder.WriteModel(staging, "unet", DiffusersOnnxFolder.UNetBuilder(checkpoint.BuildUNet), w => UNetConfig(w, unet, vae.Factor), float16: false, DiffusersOnnxFolder.UNetVariantBuilders(checkpoint.BuildUNet), cancellationToken);
            DiffusersOnnxFolder.WriteModel(staging, "vae_encoder", checkpoint.BuildVaeEncoder, w => DiffusersOnnxFolder.VaeConfig(w, vae, 1024, SdxlCheckpoint.ScalingFactor), cancellationToken: cancellationToken);
            DiffusersOnnxFolder.WriteModel(staging, "vae_decoder", checkpoint.BuildVaeDecoder, w => DiffusersOnnxFolder.VaeConfig(w, vae, 1024, SdxlCheckpoint.ScalingFactor), cancellationToken: cancellationToken);
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

    // text_encoder/ (CLIP ViT-L, when the checkpoint has it) and text_encoder_2/ (OpenCLIP ViT-bigG) under root: a model
    // folder's towers, or a standalone SDXL CLIP's (DualCLIPLoader).
    internal static void WriteTextEncoders(SdxlCheckpoint checkpoint, string root, bool optimumLayout, CancellationToken cancellationToken)
    {
        var second = checkpoint.TextEncoder2 ?? throw new CheckpointException($"{checkpoint.Weights.Source}: there is no OpenCLIP ViT-bigG text encoder.");
        if (checkpoint.TextEncoder is { } first)
        {
            DiffusersOnnxFolder.WriteModel(root, "text_encoder", b => checkpoint.BuildTextEncoder(b, optimumLayout), w => TextEncoderConfig(w, first, "CLIPTextModel", "quick_gelu"), cancellationToken: cancellationToken);
        }

        DiffusersOnnxFolder.WriteModel(root, "text_encoder_2", b => checkpoint.BuildTextEncoder2(b, optimumLayout), w => TextEncoderConfig(w, second, "CLIPTextModelWithProjection", "gelu"), cancellationToken: cancellationToken);
    }

    // SDXL's scheduler_config.json.
    internal static void SchedulerConfig(Utf8JsonWriter w, string predictionType, bool zeroSnr)
    {
        // SDXL's training schedule (SGM sd_xl_base.yaml: linear_start 0.00085, linear_end 0.012, 1000 steps), as diffusers ships it for Euler.
        w.WriteString("_class_name", "EulerDiscreteScheduler");
        w.WriteNumber("beta_start", 0.00085);
        w.WriteNumber("beta_end", 0.012);
        w.WriteString("beta_schedule", "scaled_linear");
        w.WriteNumber("num_train_timesteps", 1000);
        w.WriteBoolean("clip_sample", false);
        w.WriteBoolean("set_alpha_to_one", false);
        w.WriteNumber("steps_offset", 1);
        w.WriteString("timestep_spacing", "leading");
        w.WriteString("interpolation_type", "linear");
        w.WriteString("prediction_type", predictionType);
        if (zeroSnr) w.WriteBoolean("rescale_betas_zero_snr", true);
    }

    private static void TextEncoderConfig(Utf8JsonWriter w, TextEncoderArchitecture a, string className, string activation)
    {
        w.WriteString("_class_name", className);
        w.WriteNumber("vocab_size", a.Vocabulary);
        w.WriteNumber("hidden_size", a.Width);
        w.WriteNumber("num_hidden_layers", a.Layers);
        w.WriteNumber("num_attention_heads", a.Heads);
        w.WriteNumber("max_position_embeddings", a.Positions);
        w.WriteString("hidden_act", activation);
        if (a.ProjectionWidth > 0)
        {
            w.WriteNumber("projection_dim", a.ProjectionWidth);
        }
    }

    // The UNet's config.json; its sample size is SDXL's 1024-pixel image in latents of the VAE's downscaling factor.
    internal static void UNetConfig(Utf8JsonWriter w, UNetArchitecture a, int vaeFactor)
    {
        w.WriteString("_class_name", "UNet2DConditionModel");
        w.WriteNumber("in_channels", a.InChannels);
        w.WriteNumber("out_channels", a.OutChannels);
        w.WriteNumber("cross_attention_dim", a.ContextWidth);
        w.WriteNumber("projection_class_embeddings_input_dim", a.AddedEmbeddingWidth);
        w.WriteString("addition_embed_type", "text_time");
        w.WriteNumber("addition_time_embed_dim", UNetArchitecture.TimeIdWidth);
        w.WriteNumber("layers_per_block", a.ResBlocksPerLevel);
        w.WriteStartArray("block_out_channels");
        foreach (var c in a.LevelChannels)
        {
            w.WriteNumberValue(c);
        }

        w.WriteEndArray();
        w.WriteStartArray("transformer_layers_per_block");
        foreach (var d in a.TransformerDepths)
        {
            w.WriteNumberValue(d);
        }

        w.WriteEndArray();
        if (a.DecoderDepths is { } decoder)
        {
            // diffusers' asymmetric UNet (SSD-1B): each up block's attentions' depths.
            w.WriteStartArray("reverse_transformer_layers_per_block");
            foreach (var up in decoder)
            {
                w.WriteStartArray();
                foreach (var d in up)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
        }

        if (a.Middle != UNetMiddle.Attention)
        {
            // diffusers' UNetMidBlock2D (one residual block, no attention), or no middle block.
            if (a.Middle == UNetMiddle.ResBlock)
            {
                w.WriteString("mid_block_type", "UNetMidBlock2D");
            }
            else
            {
                w.WriteNull("mid_block_type");
            }
        }

        w.WriteNumber("sample_size", 1024 / vaeFactor);
        w.WriteString("timestep_dtype", "float32");
    }
}
