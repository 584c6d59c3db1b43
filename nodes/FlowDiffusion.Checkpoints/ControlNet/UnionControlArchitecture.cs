using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Weights;

namespace FlowDiffusion.Checkpoints.ControlNet;

/// <summary>
/// The parts a union ControlNet (xinsir's ControlNet++, "promax") adds to a ControlNet, read from their tensors: one
/// learned vector per control type (<c>task_embedding</c> [types, width]), a transformer over the control image's mean
/// (<c>transformer_layes.i</c>: <c>ln_1</c>, <c>attn.in_proj</c>/<c>attn.out_proj</c>, <c>ln_2</c>,
/// <c>mlp.c_fc</c>/<c>mlp.c_proj</c>), its projection onto the embedded control image (<c>spatial_ch_projs</c>) and
/// the control-type embedding added to the time embedding (<c>control_add_embedding.linear_1/2</c> over each type's
/// sinusoid of <see cref="SinusoidWidth"/> features).
/// </summary>
/// <param name="Types">How many control types it knows (8 for ControlNet++ promax, 6 for the first release).</param>
/// <param name="Width">The transformer's width: the embedded control image's channels.</param>
/// <param name="SinusoidWidth">Each control type's sinusoid width in <c>control_add_embedding</c> (256).</param>
/// <param name="Layers">How many transformer layers (1).</param>
public sealed record UnionControlArchitecture(int Types, int Width, int SinusoidWidth, int Layers)
{
    /// <summary>The key that marks a union ControlNet (ComfyUI's test).</summary>
    public const string MarkerKey = "control_add_embedding.linear_1.bias";

    /// <summary>
    /// The union parts of <paramref name="tensors"/> (diffusers names, <c>attn.in_proj.weight</c> split from its
    /// published <c>in_proj_weight</c>), or null when it has none; shapes are checked against the embedded control image's
    /// <paramref name="hintChannels"/> and the time embedding's <paramref name="timeWidth"/>.
    /// </summary>
    public static UnionControlArchitecture? Detect(IReadOnlyDictionary<string, StoredTensor> tensors, string source, int hintChannels, int timeWidth)
    {
        if (!tensors.ContainsKey(MarkerKey) && !tensors.ContainsKey("task_embedding"))
        {
            return null;
        }

        long[] Shape(string name) => tensors.TryGetValue(name, out var t) ? t.Shape : throw new CheckpointException($"{source}: union ControlNet tensor '{name}' is missing.");
        void Expect(string name, params long[] shape)
        {
            var actual = Shape(name);
            if (!actual.SequenceEqual(shape))
            {
                throw new CheckpointException($"{source}: union ControlNet tensor '{name}' is [{string.Join(", ", actual)}]; expected [{string.Join(", ", shape)}].");
            }
        }

        var task = Shape("task_embedding");
        if (task.Length != 2 || task[0] < 1 || task[1] != hintChannels)
        {
            throw new CheckpointException($"{source}: union ControlNet tensor 'task_embedding' is [{string.Join(", ", task)}]; expected [types, {hintChannels}] (the embedded control image's channels).");
        }

        int types = (int)task[0], width = (int)task[1];
        var add = Shape("control_add_embedding.linear_1.weight");
        if (add.Length != 2 || add[0] != timeWidth || add[1] % types != 0 || add[1] / types % 2 != 0)
        {
            throw new CheckpointException($"{source}: union ControlNet tensor 'control_add_embedding.linear_1.weight' is [{string.Join(", ", add)}]; expected [{timeWidth}, {types} × an even sinusoid width].");
        }

        Expect("control_add_embedding.linear_1.bias", timeWidth);
        Expect("control_add_embedding.linear_2.weight", timeWidth, timeWidth);
        Expect("control_add_embedding.linear_2.bias", timeWidth);
        var layers = Shapes.CountIndices(tensors.Keys, "transformer_layes.");
        if (layers == 0)
        {
            throw new CheckpointException($"{source}: the union ControlNet has no transformer_layes.0.* tensors.");
        }

        for (var i = 0; i < layers; i++)
        {
            var p = $"transformer_layes.{i}.";
            Expect(p + "ln_1.weight", width);
            Expect(p + "ln_1.bias", width);
            Expect(p + "attn.in_proj.weight", 3 * width, width);
            Expect(p + "attn.in_proj.bias", 3 * width);
            Expect(p + "attn.out_proj.weight", width, width);
            Expect(p + "attn.out_proj.bias", width);
            Expect(p + "ln_2.weight", width);
            Expect(p + "ln_2.bias", width);
            var hidden = Shape(p + "mlp.c_fc.weight");
            Expect(p + "mlp.c_fc.weight", hidden.Length == 2 ? hidden[0] : -1, width);
            Expect(p + "mlp.c_fc.bias", hidden[0]);
            Expect(p + "mlp.c_proj.weight", width, hidden[0]);
            Expect(p + "mlp.c_proj.bias", width);
        }

        Expect("spatial_ch_projs.weight", width, width);
        Expect("spatial_ch_projs.bias", width);
        return new UnionControlArchitecture(types, width, (int)(add[1] / types), layers);
    }
}
