using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>The SD 2.x torch reference (tools/reference/make_sd2_checkpoint.py): the tiny single file and its float32 inputs and outputs.</summary>
internal static class Sd2Reference
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "sd2-tiny");

    public static string File => Path.Combine(Folder, "sd2-fp16.safetensors");

    public static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

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
