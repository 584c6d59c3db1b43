using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Diffusion.Tokenization;
using FlowDiffusion.Sdk.Diffusion;

namespace FlowDiffusion.Nodes.StableDiffusion.Models;

/// <summary>A diffusers ONNX model folder with its sessions opened through the plugin's shared session cache.</summary>
internal sealed class LoadedModel
{
    public LoadedModel(ModelFolder folder, OnnxSessionCache sessions, OnnxSessionOptions options)
    {
        Folder = folder;
        Name = Path.GetFileName(folder.Path.TrimEnd(Path.DirectorySeparatorChar));
        Tokenizer = ClipTokenizer.FromFolder(folder.TokenizerPath);
        // SDXL: both towers (a refiner: OpenCLIP alone); SD 1.x: the one CLIP tower.
        TextEncoder = folder.TextEncoder2Path is { } second
            ? SdxlTextEncoder.Open(sessions, folder.TextEncoderPath, second, Tokenizer, options)
            : new OnnxTextEncoder(Diffusion.Onnx.TextEncoder.Open(sessions, folder.TextEncoderPath!, options), Tokenizer.PadId);
        UNet = new OnnxUNetModel(Name, Diffusion.Onnx.UNet.Open(sessions, folder.UNetPath, options), folder.UNetSampleSize, sessions);
        Vae = new OnnxVae(folder, sessions, options);
    }

    public ModelFolder Folder { get; }

    public string Name { get; }

    public ClipTokenizer Tokenizer { get; }

    public ITextEncoder TextEncoder { get; }

    public OnnxUNetModel UNet { get; }

    public OnnxVae Vae { get; }
}
