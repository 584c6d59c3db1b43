using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// One of SDXL's text towers as ONNX: <c>input_ids</c> int32 [batch, sequence] → <c>hidden_states</c> (the penultimate
/// layer's output *without* the final layer norm: what the SDXL UNet cross-attends to, concatenated over both towers),
/// <c>last_hidden_state</c> (final-normed) and the pooled output at the end-of-text token: <c>pooler_output</c> for
/// CLIP ViT-L, or <c>text_embeds</c> (pooled through <c>text_projection</c>) for OpenCLIP ViT-bigG, which also uses
/// exact GELU where CLIP ViT-L uses quick GELU.
/// </summary>
public static class SdxlTextEncoderGraph
{
    /// <summary>The penultimate layer's raw output, the UNet's context from this tower.</summary>
    public const string HiddenStatesOutput = "hidden_states";

    /// <summary>The projected pooled output of the second tower (SDXL's <c>text_embeds</c>).</summary>
    public const string TextEmbedsOutput = "text_embeds";

    /// <summary>Builds a tower from canonical <c>text_model.*</c> tensors (and <c>text_projection.weight</c> when the architecture has a projection).</summary>
    /// <param name="weights">The tower's tensors.</param>
    /// <param name="arch">Its shape.</param>
    /// <param name="exactGelu">Exact (erf) GELU in the MLP (OpenCLIP) rather than quick GELU (OpenAI CLIP).</param>
    /// <param name="source">The checkpoint, for messages.</param>
    /// <param name="binding">Where weights go; embedded when null.</param>
    /// <param name="optimumOutputs">
    /// Declare the hidden states as Optimum's SDXL exports do — every layer, <c>hidden_states.0</c> (the embeddings) to
    /// <c>hidden_states.N</c> — instead of the one <c>hidden_states</c> output.
    /// </param>
    public static OnnxModel Build(IReadOnlyDictionary<string, StoredTensor> weights, TextEncoderArchitecture arch, bool exactGelu, string source, WeightBinding? binding = null, bool optimumOutputs = false)
    {
        if (arch.Layers < 2)
        {
            throw new CheckpointException($"{source}: an SDXL text tower needs at least 2 layers (its context is the penultimate layer's output); this one has {arch.Layers}.");
        }

        var g = new GraphBuilder(arch.ProjectionWidth > 0 ? "text_encoder_2" : "text_encoder");
        var n = new NetworkGraph(g, weights, source, binding ?? WeightBinding.Embedded);
        const string p = "text_model.";
        var states = new List<string>();
        var (ids, h, penultimate) = TextEncoderGraph.Tower(g, n, arch, exactGelu, states);
        var last = n.LayerNorm(h, p + "final_layer_norm");
        if (optimumOutputs)
        {
            for (var i = 0; i < states.Count; i++)
            {
                g.Output(states[i], $"{HiddenStatesOutput}.{i}", TensorElementType.Float, "batch", "sequence", arch.Width);
            }
        }
        else
        {
            g.Output(penultimate, HiddenStatesOutput, TensorElementType.Float, "batch", "sequence", arch.Width);
        }

        g.Output(last, "last_hidden_state", TensorElementType.Float, "batch", "sequence", arch.Width);
        var pooled = ClipPooler.Pool(g, ids, last, arch.Width, arch.Vocabulary);
        if (arch.ProjectionWidth > 0)
        {
            g.Output(n.Linear(pooled, "text_projection"), TextEmbedsOutput, TensorElementType.Float, "batch", arch.ProjectionWidth);
        }
        else
        {
            g.Output(pooled, "pooler_output", TensorElementType.Float, "batch", arch.Width);
        }

        return g.Build($"SDXL text tower built from {Path.GetFileName(source)}: width {arch.Width}, {arch.Layers} layers, {arch.Heads} heads{(arch.ProjectionWidth > 0 ? $", projection {arch.ProjectionWidth}" : string.Empty)}.");
    }
}
