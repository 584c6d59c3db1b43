using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>The inputs and outputs a model declares, checked against what a wrapper needs.</summary>
internal sealed class ModelSignature
{
    private readonly string _modelPath;
    private readonly string _role;
    private readonly IReadOnlyList<DeclaredTensor> _inputs;
    private readonly IReadOnlyList<DeclaredTensor> _outputs;
    private readonly IReadOnlyList<DeclaredTensor> _optional;

    public ModelSignature(string modelPath, string role, InferenceSession session)
    {
        _modelPath = modelPath;
        _role = role;
        _inputs = Declared(session.InputMetadata);
        _outputs = Declared(session.OutputMetadata);
        _optional = Declared(session.OverridableInitializerMetadata);
    }

    /// <summary>The inputs a caller may leave out (overridable initializers: their defaults apply).</summary>
    public IReadOnlyList<DeclaredTensor> OptionalInputs => _optional;

    /// <summary>The input called <paramref name="name"/>, checked for element type and rank.</summary>
    public DeclaredTensor Input(string name, IReadOnlyList<TensorElementType> types, params int[] ranks) =>
        Check(_inputs.FirstOrDefault(i => i.Name == name), "input", [name], types, ranks);

    /// <summary>The first output named in <paramref name="names"/>, or the only output when the model has one.</summary>
    public DeclaredTensor Output(IReadOnlyList<string> names, IReadOnlyList<TensorElementType> types, params int[] ranks)
    {
        var found = names.Select(n => _outputs.FirstOrDefault(o => o.Name == n)).FirstOrDefault(o => o is not null)
            ?? (_outputs.Count == 1 ? _outputs[0] : null);
        return Check(found, "output", names, types, ranks);
    }

    /// <summary>The model's only input, whatever its name (exporters name an image network's input freely).</summary>
    public DeclaredTensor SoleInput(IReadOnlyList<TensorElementType> types, params int[] ranks) =>
        Check(_inputs.Count == 1 ? _inputs[0] : null, "input", ["(the only input)"], types, ranks);

    /// <summary>The outputs the model declares, in its order.</summary>
    public IReadOnlyList<DeclaredTensor> Outputs => _outputs;

    /// <summary>The inputs the model declares beyond <paramref name="known"/>.</summary>
    public IReadOnlyList<DeclaredTensor> OtherInputs(IReadOnlyCollection<string> known) => [.. _inputs.Where(i => !known.Contains(i.Name))];

    /// <summary>Whether the model declares an input called <paramref name="name"/>.</summary>
    public bool HasInput(string name) => _inputs.Any(i => i.Name == name);

    /// <summary>Whether the model declares an output called <paramref name="name"/>.</summary>
    public bool HasOutput(string name) => _outputs.Any(o => o.Name == name);

    /// <summary>An error naming the file, the expectation and the declared signature.</summary>
    public ModelMismatchException Mismatch(string expected) =>
        new(_modelPath, $"The {_role} model '{_modelPath}' does not fit: expected {expected}; the model declares "
            + $"inputs {string.Join(", ", _inputs)} and outputs {string.Join(", ", _outputs)}.");

    private DeclaredTensor Check(DeclaredTensor? found, string kind, IReadOnlyList<string> names, IReadOnlyList<TensorElementType> types, int[] ranks)
    {
        var typeNames = string.Join(" or ", types.Select(DeclaredTensor.TypeName));
        var rankNames = string.Join(" or ", ranks);
        var expected = $"{kind} {string.Join(" or ", names.Select(n => $"'{n}'"))} of type {typeNames} with rank {rankNames}";
        if (found is null || !types.Contains(found.ElementType) || !ranks.Contains(found.Rank))
        {
            throw Mismatch(expected);
        }
        return found;
    }

    private static List<DeclaredTensor> Declared(IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        [.. metadata.Select(m => m.Value.IsTensor
            ? new DeclaredTensor(m.Key, m.Value.ElementDataType, m.Value.Dimensions, m.Value.SymbolicDimensions)
            : new DeclaredTensor(m.Key, TensorElementType.DataTypeMax, [], []))];
}
