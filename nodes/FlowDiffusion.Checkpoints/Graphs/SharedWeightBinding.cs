using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>Binds each tensor once through <paramref name="inner"/> and hands the same initializer to every later graph that asks, so graphs over one set of weights share one external data file.</summary>
public sealed class SharedWeightBinding(WeightBinding inner) : WeightBinding
{
    private readonly Dictionary<string, OnnxTensor> _bound = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public override OnnxTensor Bind(string name, StoredTensor stored)
    {
        if (!_bound.TryGetValue(name, out var tensor))
        {
            tensor = inner.Bind(name, stored);
            _bound[name] = tensor;
        }

        return tensor;
    }
}
