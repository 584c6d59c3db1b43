using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The floor's text conditioning, as the UNet takes it: both prompts (the empty negative and a few words) through the
/// text encoder in one batch of 2. SD 1.x: the encoder's <c>last_hidden_state</c> as <c>encoder_hidden_states</c>.
/// SDXL: both towers' penultimate <c>hidden_states</c> side by side (768 + 1280 = 2048 wide at full size) as
/// <c>encoder_hidden_states</c>, the second tower's <c>text_embeds</c>, and <c>time_ids</c> (original size, crop 0,
/// target size: the image's size).
/// </summary>
internal sealed class FloorText : IDisposable
{
    private const int Tokens = 77;
    private readonly List<FloorTensor> _tensors = [];

    private FloorText()
    {
    }

    /// <summary>The UNet inputs this conditioning binds, beside <c>sample</c> and <c>timestep</c>.</summary>
    public List<string> Names { get; } = [];

    /// <summary>Their values, in the order of <see cref="Names"/>.</summary>
    public List<OrtValue> Values { get; } = [];

    public static FloorText Encode(InferenceSession text, InferenceSession? text2, InferenceSession unet, int size, RunOptions run)
    {
        var result = new FloorText();
        try
        {
            if (text2 is null)
            {
                var hidden = Run(text, run, text.OutputNames.Contains("last_hidden_state") ? "last_hidden_state" : text.OutputNames[0]);
                result.Bind(unet, "encoder_hidden_states", hidden.Values, hidden.Width);
                return result;
            }

            var first = Run(text, run, ContextOutput(text));
            var second = Run(text2, run, ContextOutput(text2), "text_embeds");
            var width = first.Width + second.Width;
            var context = new float[2 * Tokens * width];
            for (var row = 0; row < 2 * Tokens; row++)
            {
                first.Values.AsSpan(row * first.Width, first.Width).CopyTo(context.AsSpan(row * width));
                second.Values.AsSpan(row * second.Width, second.Width).CopyTo(context.AsSpan((row * width) + first.Width));
            }

            result.Bind(unet, "encoder_hidden_states", context, width);
            result.Bind(unet, "text_embeds", second.Pooled!, second.Pooled!.Length / 2);
            float[] sizes = [size, size, 0, 0, size, size];
            result.Bind(unet, "time_ids", [.. sizes, .. sizes], sizes.Length);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var tensor in _tensors) tensor.Dispose();
    }

    // The UNet's input of the type it declares, [2, …, width].
    private void Bind(InferenceSession unet, string name, float[] values, int width)
    {
        long[] shape = values.Length == 2 * width ? [2, width] : [2, values.Length / (2 * width), width];
        var tensor = new FloorTensor(unet.InputMetadata[name].ElementDataType, shape);
        _tensors.Add(tensor);
        tensor.Write(values);
        Names.Add(name);
        Values.Add(tensor.Value);
    }

    // An SDXL tower's context: the penultimate layer's raw output, one output (ours) or the second-to-last of optimum's hidden_states.N.
    private static string ContextOutput(InferenceSession tower)
    {
        if (tower.OutputNames.Contains("hidden_states")) return "hidden_states";
        var layers = tower.OutputNames.Where(n => n.StartsWith("hidden_states.", StringComparison.Ordinal)).ToList();
        return layers.Count >= 2 ? $"hidden_states.{layers.Count - 2}" : throw new InvalidOperationException($"the SDXL text encoder declares no hidden_states output (it has {string.Join(", ", tower.OutputNames)})");
    }

    // Row 0 the empty negative prompt, row 1 a few words; ids below 1,000 fit every tokenizer's vocabulary.
    private static (float[] Values, int Width, float[]? Pooled) Run(InferenceSession encoder, RunOptions run, string hiddenName, string? pooledName = null)
    {
        var idsName = encoder.InputNames[0];
        using var ids = new FloorTensor(encoder.InputMetadata[idsName].ElementDataType, [2, Tokens]);
        var row = new float[Tokens];
        for (var batch = 0; batch < 2; batch++)
        {
            Array.Fill(row, 2f);
            row[0] = 1f;
            for (var i = 1; batch == 1 && i <= 8; i++) row[i] = 100 + i;
            ids.Write(row, batch * Tokens);
        }

        var width = (int)encoder.OutputMetadata[hiddenName].Dimensions[^1];
        using var hidden = new FloorTensor(encoder.OutputMetadata[hiddenName].ElementDataType, [2, Tokens, width]);
        var pooledWidth = pooledName is null ? 0 : (int)encoder.OutputMetadata[pooledName].Dimensions[^1];
        using var pooled = pooledName is null ? null : new FloorTensor(encoder.OutputMetadata[pooledName].ElementDataType, [2, pooledWidth]);
        encoder.Run(run, [idsName], [ids.Value], pooled is null ? [hiddenName] : [hiddenName, pooledName!], pooled is null ? [hidden.Value] : [hidden.Value, pooled.Value]);
        var values = new float[2 * Tokens * width];
        hidden.Read(values);
        float[]? pooledValues = null;
        if (pooled is not null)
        {
            pooledValues = new float[2 * pooledWidth];
            pooled.Read(pooledValues);
        }

        return (values, width, pooledValues);
    }
}
