namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>One node of an ONNX graph: its operator, the operator's domain (empty for ai.onnx) and its inputs.</summary>
/// <param name="OpType">The operator, e.g. <c>Conv</c>.</param>
/// <param name="Domain">The operator set's domain: empty for the standard one, <c>com.microsoft</c> for ONNX Runtime's contrib ops.</param>
/// <param name="Inputs">The input value names.</param>
public sealed record OnnxGraphNode(string OpType, string Domain, IReadOnlyList<string> Inputs);
