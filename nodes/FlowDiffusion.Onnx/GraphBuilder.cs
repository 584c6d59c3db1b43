using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Onnx;

/// <summary>
/// Builds an ONNX graph one operator at a time: each method adds a node and returns the name of its output value.
/// Names come from a counter, so the same calls always give the same bytes.
/// </summary>
public sealed class GraphBuilder
{
    /// <summary>The opset every generated model declares (LayerNormalization needs 17).</summary>
    public const long Opset = 17;

    private readonly string _graphName;
    private readonly GraphBuilder? _root; // a branch's names come from the graph it belongs to, so none shadows another
    private readonly List<OnnxNode> _nodes = [];
    private readonly List<OnnxTensor> _initializers = [];
    private readonly List<OnnxValueInfo> _inputs = [];
    private readonly List<OnnxValueInfo> _outputs = [];
    private readonly Dictionary<string, string> _int64Constants = [];
    private readonly HashSet<string> _names = [];
    private int _counter;

    /// <summary>Starts an empty graph called <paramref name="graphName"/>.</summary>
    public GraphBuilder(string graphName) => _graphName = graphName;

    private GraphBuilder(string graphName, GraphBuilder root)
    {
        _graphName = graphName;
        _root = root._root ?? root;
    }

    /// <summary>Declares a graph input.</summary>
    public string Input(string name, TensorElementType type, params OnnxDim[] shape)
    {
        Claim(name);
        _inputs.Add(new OnnxValueInfo(name, type, shape));
        return name;
    }

    /// <summary>
    /// Declares a graph input that has a default: an initializer of the same name (an overridable initializer, IR ≥ 4), so
    /// a caller may leave it out.
    /// </summary>
    public string OptionalInput(OnnxTensor defaultValue, TensorElementType type, params OnnxDim[] shape)
    {
        Claim(defaultValue.Name);
        _inputs.Add(new OnnxValueInfo(defaultValue.Name, type, shape));
        _initializers.Add(defaultValue);
        return defaultValue.Name;
    }

    /// <summary>Declares <paramref name="value"/> as the graph output <paramref name="name"/>.</summary>
    public void Output(string value, string name, TensorElementType type, params OnnxDim[] shape)
    {
        Claim(name);
        _nodes.Add(new OnnxNode(name + "_output", "Identity", [value], [name], []));
        _outputs.Add(new OnnxValueInfo(name, type, shape));
    }

    /// <summary>Adds a float32 weight.</summary>
    public string Weight(string name, float[] values, params long[] dims)
    {
        Claim(name);
        _initializers.Add(OnnxTensor.FromFloats(name, values, dims));
        return name;
    }

    /// <summary>Adds a prepared initializer (for example one whose data is stored externally).</summary>
    public string Initializer(OnnxTensor tensor)
    {
        Claim(tensor.Name);
        _initializers.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A float32 scalar constant.</summary>
    public string Scalar(float value) => Weight(Fresh(ScalarStem), [value]);

    /// <summary>
    /// Whether <paramref name="name"/> is a float constant the builder named itself (<see cref="Scalar"/>, the scales of
    /// <see cref="UpsampleNearest"/>) rather than a weight it was given: what a model's saved weights leave out.
    /// </summary>
    public static bool IsGeneratedConstant(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var stem in GeneratedFloatStems)
        {
            if (name.Length > stem.Length + 1 && name.StartsWith(stem, StringComparison.Ordinal) && name[stem.Length] == '_'
                && name.AsSpan(stem.Length + 1).IndexOfAnyExceptInRange('0', '9') < 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An int64 constant vector, shared between uses with the same values.</summary>
    public string Int64s(params long[] values)
    {
        var key = string.Join(",", values);
        if (!_int64Constants.TryGetValue(key, out var name))
        {
            name = Fresh("ints");
            Claim(name);
            _initializers.Add(OnnxTensor.FromInt64s(name, values, values.Length));
            _int64Constants[key] = name;
        }

        return name;
    }

    /// <summary>An int64 scalar (rank 0) constant.</summary>
    public string Int64Scalar(long value)
    {
        var name = Fresh("int");
        Claim(name);
        _initializers.Add(OnnxTensor.FromInt64s(name, [value]));
        return name;
    }

    /// <summary>Adds any single-output node.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes)
    {
        var output = Fresh(opType);
        Claim(output);
        _nodes.Add(new OnnxNode(output, opType, inputs, [output], attributes));
        return output;
    }

    /// <summary>
    /// An <c>If</c> node: <paramref name="condition"/> (one bool) picks which branch runs, each built on a builder of its own
    /// that may read this graph's values and returns its result. Only the branch taken costs anything at run time. A branch
    /// should add no float constants: an fp16 export (<see cref="Float16Model"/>) converts the outer graph's alone.
    /// </summary>
    public string If(string condition, Func<GraphBuilder, string> thenBranch, Func<GraphBuilder, string> elseBranch)
    {
        var output = Fresh("If");
        Claim(output);
        _nodes.Add(new OnnxNode(output, "If", [condition], [output], [
            OnnxAttribute.Graph("then_branch", Branch(output + "_then", thenBranch)),
            OnnxAttribute.Graph("else_branch", Branch(output + "_else", elseBranch)),
        ]));
        return output;
    }

    /// <summary>
    /// ONNX Runtime's fused <c>com.microsoft.MultiHeadAttention</c> over [batch, tokens, width] queries, keys and values
    /// (no mask, scale 1/√head width): on the CPU it runs as flash attention, one cache-sized block of scores at a time,
    /// so the [batch, heads, queries, keys] score matrix is never stored.
    /// </summary>
    public string MultiHeadAttention(string q, string k, string v, int heads)
    {
        var output = Fresh("MultiHeadAttention");
        Claim(output);
        _nodes.Add(new OnnxNode(output, "MultiHeadAttention", [q, k, v], [output], [OnnxAttribute.Int("num_heads", heads)], OnnxModel.MicrosoftDomain));
        return output;
    }

    /// <summary>The indices of the <paramref name="k"/> (int64 [1]) largest values along the last axis, largest first (ONNX <c>TopK</c>).</summary>
    public string TopKIndices(string x, string k)
    {
        var values = Fresh("TopK");
        Claim(values);
        var indices = values + "_indices";
        Claim(indices);
        _nodes.Add(new OnnxNode(values, "TopK", [x, k], [values, indices], [OnnxAttribute.Int("axis", -1), OnnxAttribute.Int("largest", 1), OnnxAttribute.Int("sorted", 1)]));
        return indices;
    }

    /// <summary>Elementwise <c>a + b</c> with broadcasting.</summary>
    public string Add(string a, string b) => Node("Add", [a, b]);

    /// <summary>Elementwise <c>a - b</c>.</summary>
    public string Sub(string a, string b) => Node("Sub", [a, b]);

    /// <summary>Elementwise <c>a * b</c>.</summary>
    public string Mul(string a, string b) => Node("Mul", [a, b]);

    /// <summary>Elementwise <c>a / b</c>.</summary>
    public string Div(string a, string b) => Node("Div", [a, b]);

    /// <summary>Elementwise maximum.</summary>
    public string Max(string a, string b) => Node("Max", [a, b]);

    /// <summary>Elementwise minimum.</summary>
    public string Min(string a, string b) => Node("Min", [a, b]);

    /// <summary>Matrix product with numpy broadcasting.</summary>
    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    /// <summary>Logistic sigmoid.</summary>
    public string Sigmoid(string x) => Node("Sigmoid", [x]);

    /// <summary>SiLU (swish): <c>x · sigmoid(x)</c>.</summary>
    public string Silu(string x) => Mul(x, Sigmoid(x));

    /// <summary>Hyperbolic tangent.</summary>
    public string Tanh(string x) => Node("Tanh", [x]);

    /// <summary>Square root.</summary>
    public string Sqrt(string x) => Node("Sqrt", [x]);

    /// <summary>Floor.</summary>
    public string Floor(string x) => Node("Floor", [x]);

    /// <summary>Cosine.</summary>
    public string Cos(string x) => Node("Cos", [x]);

    /// <summary>Sine.</summary>
    public string Sin(string x) => Node("Sin", [x]);

    /// <summary>Softmax over one axis.</summary>
    public string Softmax(string x, long axis) => Node("Softmax", [x], OnnxAttribute.Int("axis", axis));

    /// <summary>Element type conversion.</summary>
    public string Cast(string x, TensorElementType to) => Node("Cast", [x], OnnxAttribute.Int("to", (long)to));

    /// <summary>Reshape to a constant shape (0 copies the input's dimension, -1 infers one).</summary>
    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Int64s(shape)]);

    /// <summary>Reshape to a shape computed in the graph.</summary>
    public string ReshapeLike(string x, string shape) => Node("Reshape", [x, shape]);

    /// <summary>Axis permutation.</summary>
    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], OnnxAttribute.Ints("perm", perm));

    /// <summary>Inserts size-1 axes.</summary>
    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", [x, Int64s(axes)]);

    /// <summary>Removes size-1 axes.</summary>
    public string Squeeze(string x, params long[] axes) => Node("Squeeze", [x, Int64s(axes)]);

    /// <summary>Concatenation along one axis.</summary>
    public string Concat(long axis, params string[] inputs) => Node("Concat", inputs, OnnxAttribute.Int("axis", axis));

    /// <summary>A slice with constant bounds.</summary>
    public string Slice(string x, long[] starts, long[] ends, long[] axes) => Node("Slice", [x, Int64s(starts), Int64s(ends), Int64s(axes)]);

    /// <summary>Rows of <paramref name="data"/> picked by <paramref name="indices"/> along <paramref name="axis"/>.</summary>
    public string Gather(string data, string indices, long axis = 0) => Node("Gather", [data, indices], OnnxAttribute.Int("axis", axis));

    /// <summary>Sum over axes.</summary>
    public string ReduceSum(string x, long[] axes, bool keepDims) => Node("ReduceSum", [x, Int64s(axes)], OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

    /// <summary>The shape of <paramref name="x"/> (optionally a range of its axes) as an int64 vector.</summary>
    public string Shape(string x, long start = 0, long? end = null) => end is null
        ? Node("Shape", [x], OnnxAttribute.Int("start", start))
        : Node("Shape", [x], OnnxAttribute.Int("start", start), OnnxAttribute.Int("end", end.Value));

    /// <summary>2-D convolution with square kernel, same padding on all sides.</summary>
    public string Conv(string x, string weight, string bias, long kernel, long stride = 1, long pad = 0) => Node(
        "Conv",
        [x, weight, bias],
        OnnxAttribute.Ints("kernel_shape", kernel, kernel),
        OnnxAttribute.Ints("strides", stride, stride),
        OnnxAttribute.Ints("pads", pad, pad, pad, pad));

    /// <summary>Non-overlapping average pooling by <paramref name="factor"/>.</summary>
    public string AveragePool(string x, long factor) => Node(
        "AveragePool",
        [x],
        OnnxAttribute.Ints("kernel_shape", factor, factor),
        OnnxAttribute.Ints("strides", factor, factor));

    /// <summary>Nearest-neighbour upsampling of the last two axes by an integer factor.</summary>
    public string UpsampleNearest(string x, float factor) => Node(
        "Resize",
        [x, string.Empty, Weight(Fresh(ScalesStem), [1f, 1f, factor, factor], 4)],
        OnnxAttribute.String("mode", "nearest"),
        OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"),
        OnnxAttribute.String("nearest_mode", "floor"));

    /// <summary>Nearest-neighbour resize of the last two axes to the spatial size of <paramref name="like"/>.</summary>
    public string ResizeNearestLike(string x, string like)
    {
        var sizes = Concat(0, Shape(x, 0, 2), Shape(like, 2));
        return Node(
            "Resize",
            [x, string.Empty, string.Empty, sizes],
            OnnxAttribute.String("mode", "nearest"),
            OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"),
            OnnxAttribute.String("nearest_mode", "floor"));
    }

    /// <summary>Normalisation over the last axis with learned scale and shift (opset 17 LayerNormalization).</summary>
    public string LayerNorm(string x, string scale, string bias, float epsilon = 1e-5f) => Node(
        "LayerNormalization",
        [x, scale, bias],
        OnnxAttribute.Int("axis", -1),
        OnnxAttribute.Float("epsilon", epsilon));

    /// <summary>Per-channel normalisation over spatial axes.</summary>
    public string InstanceNorm(string x, string scale, string bias, float epsilon = 1e-5f) =>
        Node("InstanceNormalization", [x, scale, bias], OnnxAttribute.Float("epsilon", epsilon));

    /// <summary>The finished model.</summary>
    public OnnxModel Build(string docString) =>
        new(new OnnxGraph(_graphName, _nodes.ToArray(), _initializers.ToArray(), _inputs.ToArray(), _outputs.ToArray()), Opset, docString);

    private const string ScalarStem = "scalar";
    private const string ScalesStem = "scales";
    private static readonly string[] GeneratedFloatStems = [ScalarStem, ScalesStem];

    // A branch's output is its own value (an Identity of what it returns), its type left to ONNX Runtime to infer.
    private OnnxGraph Branch(string name, Func<GraphBuilder, string> build)
    {
        var branch = new GraphBuilder(name, this);
        var result = build(branch);
        var output = branch.Node("Identity", [result]);
        return new OnnxGraph(name, branch._nodes.ToArray(), branch._initializers.ToArray(), [], [OnnxValueInfo.Inferred(output)]);
    }

    private string Fresh(string stem) => _root is null ? $"{stem}_{_counter++}" : _root.Fresh(stem);

    private void Claim(string name)
    {
        if (_root is not null)
        {
            _root.Claim(name);
            return;
        }

        if (!_names.Add(name))
        {
            throw new InvalidOperationException($"Graph '{_graphName}' already has a value named '{name}'.");
        }
    }
}
