using FlowDiffusion.ModelGenerator.Files;
using FlowDiffusion.ModelGenerator.Tokenizer;

namespace FlowDiffusion.ModelGenerator.Analytic;

/// <summary>Assembles the files of an analytic model folder for one variant.</summary>
internal static class AnalyticModel
{
    public static ModelFolder Build(AnalyticVariant variant)
    {
        var vocabulary = BpeVocabulary.ForPromptWords();
        var folder = new ModelFolder();
        var pipeline = variant.Inpainting ? "OnnxStableDiffusionInpaintPipeline" : "OnnxStableDiffusionPipeline";
        DiffusersLayout.AddCommonFiles(folder, pipeline, vocabulary);
        folder.Add("text_encoder/model.onnx", AnalyticTextEncoder.Build(vocabulary).ToBytes());
        folder.Add("text_encoder/config.json", DiffusersLayout.TextEncoderConfig(AnalyticTextEncoder.Width, vocabulary.Tokens.Count, 0));
        folder.Add("unet/model.onnx", AnalyticUNet.Build(variant).ToBytes());
        folder.Add("unet/config.json", DiffusersLayout.UNetConfig(variant.Inpainting ? 9 : 4, AnalyticTextEncoder.Width, TimestepTypeName(variant.Timestep)));
        folder.Add("vae_encoder/model.onnx", AnalyticVaeEncoder.Build(variant.EncoderOutput).ToBytes());
        folder.Add("vae_decoder/model.onnx", AnalyticVaeDecoder.Build().ToBytes());
        DiffusersLayout.AddVaeConfigs(folder);
        return folder;
    }

    internal static string TimestepTypeName(TimestepInput timestep) => timestep switch
    {
        TimestepInput.Int64Vector => "int64",
        TimestepInput.Float16Vector => "float16",
        _ => "float32",
    };
}
