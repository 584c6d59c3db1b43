using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Models.Tests;

/// <summary>One output of a model run, converted to float32 whatever its declared element type.</summary>
internal sealed record OutputTensor(float[] Values, long[] Shape)
{
    public float At(params long[] index)
    {
        long flat = 0;
        for (var i = 0; i < Shape.Length; i++)
        {
            flat = flat * Shape[i] + index[i];
        }

        return Values[flat];
    }
}

/// <summary>Runs an ONNX file on the CPU provider with named inputs and returns every output.</summary>
internal static class OnnxModelRun
{
    public static Dictionary<string, OutputTensor> Run(string modelPath, params (string Name, OrtValue Value)[] inputs)
    {
        using var session = new InferenceSession(modelPath);
        return Run(session, inputs);
    }

    public static Dictionary<string, OutputTensor> Run(InferenceSession session, params (string Name, OrtValue Value)[] inputs)
    {
        try
        {
            using var options = new RunOptions();
            var outputNames = session.OutputNames.ToArray();
            using var results = session.Run(options, inputs.Select(i => i.Name).ToArray(), inputs.Select(i => i.Value).ToArray(), outputNames);
            var outputs = new Dictionary<string, OutputTensor>();
            for (var i = 0; i < outputNames.Length; i++)
            {
                var info = results[i].GetTensorTypeAndShape();
                var values = info.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16
                    ? results[i].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)h).ToArray()
                    : results[i].GetTensorDataAsSpan<float>().ToArray();
                outputs[outputNames[i]] = new OutputTensor(values, info.Shape);
            }

            return outputs;
        }
        finally
        {
            foreach (var input in inputs)
            {
                input.Value.Dispose();
            }
        }
    }

    public static OrtValue Floats(float[] values, params long[] shape) => OrtValue.CreateTensorValueFromMemory(values, shape);

    public static OrtValue Halves(float[] values, params long[] shape) =>
        OrtValue.CreateTensorValueFromMemory(values.Select(v => (Float16)v).ToArray(), shape);

    public static OrtValue Int64s(long[] values, params long[] shape) => OrtValue.CreateTensorValueFromMemory(values, shape);

    public static OrtValue Int32s(int[] values, params long[] shape) => OrtValue.CreateTensorValueFromMemory(values, shape);
}
