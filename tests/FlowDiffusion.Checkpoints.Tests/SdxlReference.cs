using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>The SDXL torch reference (tools/reference/make_sdxl_checkpoint.py): the tiny single file and its float32 inputs and outputs.</summary>
internal static class SdxlReference
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "sdxl-tiny");

    public static string File => Path.Combine(Folder, "sdxl-fp16.safetensors");

    public static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    /// <summary>Runs a UNet graph on the reference's inputs (plus <paramref name="extra"/> ones) and returns its output.</summary>
    public static (float[] Values, long[] Shape) RunUNet(byte[] model, params (string, OrtValue)[] extra) => Reference.Run(
        model,
        [
            ("sample", Reference.Floats(Tensor("unet.sample"))),
            ("timestep", Reference.Floats(Tensor("unet.timestep"))),
            ("encoder_hidden_states", Reference.Floats(Tensor("unet.encoder_hidden_states"))),
            ("text_embeds", Reference.Floats(Tensor("unet.text_embeds"))),
            ("time_ids", Reference.Floats(Tensor("unet.time_ids"))),
            .. extra,
        ])["out_sample"];

    public static int[] Ids(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        var raw = file.GetBytes(file.Get(name));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        }

        return ids;
    }
}
