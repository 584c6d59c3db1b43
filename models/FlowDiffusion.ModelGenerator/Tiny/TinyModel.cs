using FlowDiffusion.ModelGenerator.Files;
using FlowDiffusion.ModelGenerator.Tokenizer;

namespace FlowDiffusion.ModelGenerator.Tiny;

/// <summary>Assembles the files of the tiny random-weight SD model.</summary>
internal static class TinyModel
{
    public static ModelFolder Build(VaeEncoderOutput encoderOutput)
    {
        var vocabulary = BpeVocabulary.ForPromptWords();
        var folder = new ModelFolder();
        DiffusersLayout.AddCommonFiles(folder, "OnnxStableDiffusionPipeline", vocabulary);
        folder.Add("text_encoder/model.onnx", TinyTextEncoder.Build(vocabulary.Tokens.Count).ToBytes());
        folder.Add("text_encoder/config.json", DiffusersLayout.TextEncoderConfig(TinyTextEncoder.Width, vocabulary.Tokens.Count, 1));
        folder.Add("unet/model.onnx", TinyUNet.Build().ToBytes());
        folder.Add("unet/config.json", DiffusersLayout.UNetConfig(4, TinyTextEncoder.Width, "int64"));
        folder.Add("vae_encoder/model.onnx", TinyVaeEncoder.Build(encoderOutput).ToBytes());
        folder.Add("vae_decoder/model.onnx", TinyVaeDecoder.Build().ToBytes());
        DiffusersLayout.AddVaeConfigs(folder);
        return folder;
    }
}
