using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>How a checkpoint tensor becomes a float32 initializer: inside the model (small models, tests) or appended to an external data file.</summary>
public abstract class WeightBinding
{
    /// <summary>Data inside the model file.</summary>
    public static WeightBinding Embedded { get; } = new EmbeddedBinding();

    /// <summary>The initializer for <paramref name="stored"/> under <paramref name="name"/>.</summary>
    public abstract OnnxTensor Bind(string name, StoredTensor stored);

    private sealed class EmbeddedBinding : WeightBinding
    {
        public override OnnxTensor Bind(string name, StoredTensor stored) => OnnxTensor.FromFloats(name, stored.ReadFloat32(), stored.Shape);
    }
}
