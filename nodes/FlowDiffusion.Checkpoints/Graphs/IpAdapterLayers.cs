using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Onnx;
using FlowDiffusion.Onnx.Proto;

namespace FlowDiffusion.Checkpoints.Graphs;

/// <summary>
/// The IP-adapted UNet's extra inputs and the order of its cross-attention layers. The order is the adapter's: diffusers
/// numbers a UNet's attention processors by module order, down blocks, then up blocks, then the middle block (each
/// transformer block's self-attention, then its cross-attention), so cross-attention layer n is processor 2n + 1
/// (<c>ip_adapter.{2n+1}</c>). Layer n takes <c>ip_key_n</c> and <c>ip_value_n</c> [batch, image tokens, channels] (the
/// image tokens through the adapter's <c>to_k_ip</c> / <c>to_v_ip</c>) and column n of <c>ip_scale</c> [batch, layers]:
/// out = to_out(Attn(Q, K_text, V_text) + scale · Attn(Q, ip_key, ip_value)), the paper's decoupled cross-attention.
/// </summary>
public static class IpAdapterLayers
{
    /// <summary>The per-row, per-layer scale input's name.</summary>
    public const string Scale = "ip_scale";

    /// <summary>The decoupled key input of layer <paramref name="layer"/>.</summary>
    public static string Key(int layer) => $"ip_key_{layer}";

    /// <summary>The decoupled value input of layer <paramref name="layer"/>.</summary>
    public static string Value(int layer) => $"ip_value_{layer}";

    /// <summary>The width of each cross-attention layer, in the adapter's order.</summary>
    public static IReadOnlyList<int> Channels(UNetArchitecture arch) => [.. Blocks(arch).Select(b => b.Channels)];

    // Every transformer block with cross-attention, as "<diffusers transformer name>.transformer_blocks.<d>", in the adapter's order.
    private static List<(string Name, int Channels)> Blocks(UNetArchitecture arch)
    {
        var levels = arch.LevelChannels.Count;
        var down = new List<(string, int)>();
        var up = new List<(string, int)>();
        for (var level = 0; level < levels; level++)
        {
            for (var j = 0; j < arch.ResBlocksPerLevel; j++)
            {
                down.AddRange(Depth($"down_blocks.{level}.attentions.{j}", arch.DownDepth(level, j), arch.LevelChannels[level]));
            }
        }

        for (var u = 0; u < levels; u++)
        {
            var level = levels - 1 - u;
            for (var j = 0; j <= arch.ResBlocksPerLevel; j++)
            {
                up.AddRange(Depth($"up_blocks.{u}.attentions.{j}", arch.UpDepth(u, j), arch.LevelChannels[level]));
            }
        }

        var middle = arch.Middle == UNetMiddle.Attention ? arch.MiddleTransformerDepth : 0;
        return [.. down, .. up, .. Depth("mid_block.attentions.0", middle, arch.LevelChannels[^1])];
    }

    private static IEnumerable<(string, int)> Depth(string transformer, int depth, int channels) =>
        Enumerable.Range(0, depth).Select(d => ($"{transformer}.transformer_blocks.{d}", channels));

    /// <summary>Declares the inputs as the UNet graph meets its cross-attention layers.</summary>
    internal sealed class Inputs
    {
        private readonly GraphBuilder _g;
        private readonly Dictionary<string, (int Layer, int Channels)> _layers;
        private readonly string _scale;

        public Inputs(GraphBuilder g, UNetArchitecture arch)
        {
            _g = g;
            var blocks = Blocks(arch);
            _layers = blocks.Select((b, i) => (b.Name, (i, b.Channels))).ToDictionary(p => p.Name, p => p.Item2, StringComparer.Ordinal);
            _scale = g.Input(Scale, TensorElementType.Float, "batch", blocks.Count);
        }

        /// <summary>The decoupled key, value and [batch, 1, 1] scale of transformer block <paramref name="block"/> (<c>….transformer_blocks.d</c>).</summary>
        public (string Key, string Value, string Scale) For(string block)
        {
            var (layer, channels) = _layers[block];
            var key = _g.Input(Key(layer), TensorElementType.Float, "batch", "ip_tokens", channels);
            var value = _g.Input(Value(layer), TensorElementType.Float, "batch", "ip_tokens", channels);
            return (key, value, _g.Unsqueeze(_g.Slice(_scale, [layer], [layer + 1], [1]), 2));
        }
    }
}
