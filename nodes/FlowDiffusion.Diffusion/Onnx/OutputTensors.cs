using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>Reads tensors ONNX Runtime allocated as float32, whatever floating type the model produced.</summary>
internal static class OutputTensors
{
    public static FloatTensor ToFloat(OrtValue value, string modelPath, string name)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape.Select(d => checked((int)d)).ToArray();
        var values = GC.AllocateUninitializedArray<float>(checked((int)info.ElementCount));
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                value.GetTensorDataAsSpan<float>().CopyTo(values);
                break;
            case TensorElementType.Float16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>()), values);
                break;
            default:
                throw new ModelMismatchException(modelPath,
                    $"Output '{name}' of '{modelPath}' is {DeclaredTensor.TypeName(info.ElementDataType)}; float32 or float16 was expected.");
        }
        return new FloatTensor(values, shape);
    }
}
