using FlowDiffusion.ModelGenerator.Files;

namespace FlowDiffusion.ModelGenerator.Tiny;

/// <summary>Assembles the files of the tiny random-weight SD model.</summary>
internal static class TinyModel
{
    public static ModelFolder Build(VaeEncoderOutput encoderOutput) => throw new NotImplementedException();
}
