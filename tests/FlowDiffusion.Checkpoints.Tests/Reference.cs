using FlowDiffusion.Formats.Safetensors;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>The torch reference (tools/reference/make_sd1_checkpoints.py): the tiny checkpoints and their float32 inputs and outputs.</summary>
internal static class Reference
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "sd1-tiny");

    public static string LdmFile => Path.Combine(Folder, "ldm-fp16.safetensors");

    public static string DiffusersFolder => Path.Combine(Folder, "diffusers");

    public static (float[] Values, long[] Shape) Tensor(string name)
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        return (file.ReadFloat32(name), file.Get(name).Shape);
    }

    public static int[] InputIds()
    {
        using var file = SafetensorsFile.Open(Path.Combine(Folder, "reference.safetensors"));
        var raw = file.GetBytes(file.Get("text_encoder.input_ids"));
        var ids = new int[raw.Length / 8];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)BitConverter.ToInt64(raw[(i * 8)..]);
        }

        return ids;
    }

    /// <summary>Runs model bytes on ONNX Runtime's CPU provider and returns every output as float32.</summary>
    public static Dictionary<string, (float[] Values, long[] Shape)> Run(byte[] model, params (string Name, OrtValue Value)[] inputs)
    {
        using var session = new InferenceSession(model);
        var names = session.OutputNames.ToArray();
        try
        {
            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Name).ToArray(), inputs.Select(i => i.Value).ToArray(), names);
            return names.Select((n, i) => (n, i)).ToDictionary(
                p => p.n,
                p => (results[p.i].GetTensorDataAsSpan<float>().ToArray(), results[p.i].GetTensorTypeAndShape().Shape));
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Value.Dispose();
            }
        }
    }

    public static OrtValue Floats((float[] Values, long[] Shape) t) => OrtValue.CreateTensorValueFromMemory(t.Values, t.Shape);

    /// <summary>A float16 input for a graph exported at half precision.</summary>
    public static NamedOnnxValue Half(string name, float[] values, long[] shape) =>
        NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<Float16>(values.Select(v => (Float16)v).ToArray(), [.. shape.Select(d => (int)d)]));

    public static double MaxDifference(float[] a, float[] b) => a.Select((v, i) => Math.Abs(v - b[i])).Max();

    public static void AssertClose((float[] Values, long[] Shape) expected, (float[] Values, long[] Shape) actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var worst = 0.0;
        var at = -1;
        for (var i = 0; i < expected.Values.Length; i++)
        {
            var d = Math.Abs(expected.Values[i] - actual.Values[i]);
            if (!(d <= worst))
            {
                worst = d;
                at = i;
            }
        }

        Assert.True(worst <= tolerance, $"{what}: max |difference| {worst:G4} at {at} (expected {expected.Values[Math.Max(at, 0)]}, got {actual.Values[Math.Max(at, 0)]}) exceeds {tolerance}.");
        Assert.Contains(expected.Values, v => Math.Abs(v) > 0.1f);
    }
}
