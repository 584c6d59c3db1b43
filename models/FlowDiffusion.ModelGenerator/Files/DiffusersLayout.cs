using System.Text.Json;
using FlowDiffusion.ModelGenerator.Tokenizer;

namespace FlowDiffusion.ModelGenerator.Files;

/// <summary>The non-ONNX files of a diffusers ONNX folder: model index, scheduler config, tokenizer and component configs.</summary>
internal static class DiffusersLayout
{
    public const string DiffusersVersion = "0.6.0";

    /// <summary>SD's VAE scaling factor, carried in the VAE configs exactly as SD v1.x ships it.</summary>
    public const float VaeScalingFactor = 0.18215f;

    public static void AddCommonFiles(ModelFolder folder, string pipelineClass, BpeVocabulary vocabulary)
    {
        folder.Add("model_index.json", JsonText.Object(w =>
        {
            w.WriteString("_class_name", pipelineClass);
            w.WriteString("_diffusers_version", DiffusersVersion);
            w.Pair("feature_extractor", null, null);
            w.WriteBoolean("requires_safety_checker", false);
            w.Pair("safety_checker", null, null);
            w.Pair("scheduler", "diffusers", "PNDMScheduler");
            w.Pair("text_encoder", "onnxruntime", "OnnxRuntimeModel");
            w.Pair("tokenizer", "transformers", "CLIPTokenizer");
            w.Pair("unet", "onnxruntime", "OnnxRuntimeModel");
            w.Pair("vae_decoder", "onnxruntime", "OnnxRuntimeModel");
            w.Pair("vae_encoder", "onnxruntime", "OnnxRuntimeModel");
        }));
        folder.Add("scheduler/scheduler_config.json", JsonText.Object(w =>
        {
            w.WriteString("_class_name", "PNDMScheduler");
            w.WriteString("_diffusers_version", DiffusersVersion);
            w.WriteNumber("beta_end", 0.012);
            w.WriteString("beta_schedule", "scaled_linear");
            w.WriteNumber("beta_start", 0.00085);
            w.WriteBoolean("clip_sample", false);
            w.WriteNumber("num_train_timesteps", 1000);
            w.WriteBoolean("set_alpha_to_one", false);
            w.WriteBoolean("skip_prk_steps", true);
            w.WriteNumber("steps_offset", 1);
            w.WriteNull("trained_betas");
        }));
        AddTokenizer(folder, vocabulary);
    }

    public static void AddVaeConfigs(ModelFolder folder)
    {
        foreach (var component in new[] { "vae_decoder", "vae_encoder" })
        {
            folder.Add($"{component}/config.json", JsonText.Object(w =>
            {
                w.WriteString("_class_name", "AutoencoderKL");
                w.WriteString("_diffusers_version", DiffusersVersion);
                w.WriteNumber("in_channels", 3);
                w.WriteNumber("latent_channels", 4);
                w.WriteNumber("out_channels", 3);
                w.WriteNumber("sample_size", 512);
                w.WriteNumber("scaling_factor", 0.18215);
            }));
        }
    }

    public static byte[] TextEncoderConfig(int hiddenSize, int vocabularySize, int layers) => JsonText.Object(w =>
    {
        w.WriteStartArray("architectures");
        w.WriteStringValue("CLIPTextModel");
        w.WriteEndArray();
        w.WriteNumber("bos_token_id", vocabularySize - 2);
        w.WriteNumber("eos_token_id", vocabularySize - 1);
        w.WriteNumber("hidden_size", hiddenSize);
        w.WriteNumber("max_position_embeddings", 77);
        w.WriteString("model_type", "clip_text_model");
        w.WriteNumber("num_hidden_layers", layers);
        w.WriteNumber("pad_token_id", vocabularySize - 1);
        w.WriteNumber("vocab_size", vocabularySize);
    });

    public static byte[] UNetConfig(int inChannels, int crossAttentionDim, string timestepType) => JsonText.Object(w =>
    {
        w.WriteString("_class_name", "UNet2DConditionModel");
        w.WriteString("_diffusers_version", DiffusersVersion);
        w.WriteNumber("cross_attention_dim", crossAttentionDim);
        w.WriteNumber("in_channels", inChannels);
        w.WriteNumber("out_channels", 4);
        w.WriteNumber("sample_size", 64);
        w.WriteString("timestep_dtype", timestepType);
    });

    private static void AddTokenizer(ModelFolder folder, BpeVocabulary vocabulary)
    {
        folder.Add("tokenizer/vocab.json", JsonText.Object(
            w =>
            {
                for (var id = 0; id < vocabulary.Tokens.Count; id++)
                {
                    w.WriteNumber(vocabulary.Tokens[id], id);
                }
            },
            indented: false));
        folder.Add("tokenizer/merges.txt", JsonText.Lines(
            vocabulary.Merges.Select(m => $"{m.Left} {m.Right}").Prepend("#version: 0.2")));
        folder.Add("tokenizer/tokenizer_config.json", JsonText.Object(w =>
        {
            w.WriteBoolean("add_prefix_space", false);
            w.WriteString("bos_token", BpeVocabulary.StartOfText);
            w.WriteBoolean("clean_up_tokenization_spaces", true);
            w.WriteBoolean("do_lower_case", true);
            w.WriteString("eos_token", BpeVocabulary.EndOfText);
            w.WriteString("errors", "replace");
            w.WriteNumber("model_max_length", 77);
            w.WriteString("pad_token", BpeVocabulary.EndOfText);
            w.WriteString("tokenizer_class", "CLIPTokenizer");
            w.WriteString("unk_token", BpeVocabulary.EndOfText);
        }));
        folder.Add("tokenizer/special_tokens_map.json", JsonText.Object(w =>
        {
            w.WriteString("bos_token", BpeVocabulary.StartOfText);
            w.WriteString("eos_token", BpeVocabulary.EndOfText);
            w.WriteString("pad_token", BpeVocabulary.EndOfText);
            w.WriteString("unk_token", BpeVocabulary.EndOfText);
        }));
    }
}
