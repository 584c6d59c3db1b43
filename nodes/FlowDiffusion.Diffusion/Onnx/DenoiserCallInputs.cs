using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// The inputs every denoising network of the UNet family takes (the UNet variants and the ControlNets): <c>sample</c>,
/// <c>timestep</c> (one for every row), <c>encoder_hidden_states</c> and, for SDXL, <c>text_embeds</c> and <c>time_ids</c>,
/// added by name to the lists a call runs; the caller disposes the values.
/// </summary>
internal static class DenoiserCallInputs
{
    public static void Add(
        List<string> names, List<OrtValue> values, float[] sample, LatentShape shape, float timestep, float[] encoderHiddenStates, int tokens,
        float[]? textEmbeds, float[]? timeIds)
    {
        var width = encoderHiddenStates.Length / (shape.Batch * tokens);
        names.AddRange(["sample", "timestep", "encoder_hidden_states"]);
        values.Add(OrtValue.CreateTensorValueFromMemory(sample, [shape.Batch, shape.Channels, shape.Height, shape.Width]));
        values.Add(OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(timestep, shape.Batch).ToArray(), [shape.Batch]));
        values.Add(OrtValue.CreateTensorValueFromMemory(encoderHiddenStates, [shape.Batch, tokens, width]));
        if (textEmbeds is not null && timeIds is not null)
        {
            names.AddRange(["text_embeds", "time_ids"]);
            values.Add(OrtValue.CreateTensorValueFromMemory(textEmbeds, [shape.Batch, textEmbeds.Length / shape.Batch]));
            values.Add(OrtValue.CreateTensorValueFromMemory(timeIds, [shape.Batch, timeIds.Length / shape.Batch]));
        }
    }
}
