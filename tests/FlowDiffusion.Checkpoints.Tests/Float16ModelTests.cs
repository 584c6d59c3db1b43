using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TensorElementType = FlowDiffusion.Onnx.Proto.TensorElementType;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// <see cref="Float16Model"/>: an fp16 export of CLIP's pooling still loads and picks the end-of-text row. Its float32
/// id arithmetic (ids cast to float32, compared with the vocabulary size) must keep the constants it reads in float32,
/// or ONNX Runtime refuses the graph ("Less" bound to float and float16), as it did for every fp16 text encoder exported
/// with the vocabulary bound.
/// </summary>
public sealed class Float16ModelTests
{
    [Fact]
    public void Clip_pooling_converted_to_float16_loads_and_picks_the_first_end_of_text_row_below_the_vocabulary()
    {
        const int batch = 2, sequence = 5, width = 3;
        const long vocabulary = 49408;
        var g = new GraphBuilder("pooling");
        var ids = g.Input("input_ids", TensorElementType.Int64, batch, sequence);
        var hidden = g.Input("hidden", TensorElementType.Float, batch, sequence, width);
        g.Output(ClipPooler.Pool(g, ids, hidden, width, vocabulary), "pooled", TensorElementType.Float, batch, width);
        var model = Float16Model.Convert(g.Build("fp16 pooling test"));

        // The id arithmetic's constants stayed float32; the hidden states are float16.
        var whereInputs = model.Graph.Nodes.Where(n => n.OpType is "Where" or "Less").SelectMany(n => n.Inputs).ToHashSet();
        Assert.All(model.Graph.Initializers.Where(t => whereInputs.Contains(t.Name)), t => Assert.Equal(TensorElementType.Float, t.ElementType));
        Assert.Equal(TensorElementType.Float16, model.Graph.Inputs.Single(i => i.Name == "hidden").ElementType);

        // Row 0 ends its text at position 2; row 1 holds an appended embedding id (49410, past the vocabulary) at
        // position 1, which is not the end of the text: its end is at position 3.
        long[] tokens = [49406, 5, 49407, 12, 0, 49406, 49410, 7, 49407, 0];
        // Each value exact in float16: eighths below 8.
        var values = Enumerable.Range(0, batch * sequence * width).Select(i => (Float16)(i / 8f)).ToArray();
        using var session = new InferenceSession(model.ToBytes());
        using var results = session.Run(
        [
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(tokens, [batch, sequence])),
            NamedOnnxValue.CreateFromTensor("hidden", new DenseTensor<Float16>(values, [batch, sequence, width])),
        ]);
        var pooled = results[0].AsTensor<Float16>().ToArray().Select(v => (float)v).ToArray();

        float[] Row(int b, int position) => [.. Enumerable.Range(0, width).Select(c => (float)values[(b * sequence + position) * width + c])];
        Assert.Equal([.. Row(0, 2), .. Row(1, 3)], pooled);
    }
}
