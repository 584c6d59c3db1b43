using System.Runtime.InteropServices;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// Appends each weight, converted to float32 (or float16 for an fp16 export), to one data file beside the model (ONNX
/// external data), so a model of any size is written one tensor at a time: memory holds at most the tensor being
/// converted, and the model file stays small.
/// </summary>
/// <param name="path">The data file to create.</param>
/// <param name="float16">Write float16 instead of float32.</param>
/// <param name="cancellationToken">Checked before each tensor, so a long conversion stops between tensors when cancelled.</param>
public sealed class ExternalWeightFile(string path, bool float16 = false, CancellationToken cancellationToken = default) : WeightBinding, IDisposable
{
    private const int Alignment = 64;
    private readonly FileStream _stream = new(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);

    /// <inheritdoc />
    public override OnnxTensor Bind(string name, StoredTensor stored)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var padding = (Alignment - _stream.Position % Alignment) % Alignment;
        _stream.Write(new byte[padding]);
        var offset = _stream.Position;
        var values = stored.ReadFloat32();
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("External weight files are written little-endian only.");
        }

        if (float16)
        {
            var halves = Array.ConvertAll(values, v => (Half)Math.Clamp(v, (float)Half.MinValue, (float)Half.MaxValue));
            _stream.Write(MemoryMarshal.AsBytes(halves.AsSpan()));
            return OnnxTensor.FromExternal(name, TensorElementType.Float16, stored.Shape, new OnnxExternalData(Path.GetFileName(path), offset, halves.LongLength * 2));
        }

        _stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        return OnnxTensor.FromExternal(name, TensorElementType.Float, stored.Shape, new OnnxExternalData(Path.GetFileName(path), offset, values.LongLength * 4));
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
