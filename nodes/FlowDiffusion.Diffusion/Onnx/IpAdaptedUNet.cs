using FlowDiffusion.Sdk.Diffusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A UNet graph with IP-Adapter inputs: <c>ip_scale</c> [B, layers] and, per cross-attention layer n, <c>ip_key_n</c> and
/// <c>ip_value_n</c> [B, image tokens, channels], float32 throughout, as the checkpoint builder writes it beside the plain
/// graph (<see cref="FileName"/>). An SDXL UNet's also takes <c>text_embeds</c> and <c>time_ids</c>.
/// </summary>
public sealed class IpAdaptedUNet
{
    /// <summary>The graph's file name beside the plain <c>unet/model.onnx</c>.</summary>
    public const string FileName = "ipadapter.onnx";

    private static readonly TensorElementType[] Float32 = [TensorElementType.Float];
    private readonly ModelSession _model;
    private readonly int[] _channels;

    private IpAdaptedUNet(ModelSession model)
    {
        _model = model;
        var signature = model.Signature;
        signature.Input("sample", Float32, 4);
        signature.Input("timestep", Float32, 1);
        signature.Input("encoder_hidden_states", Float32, 3);
        TakesAddedConditioning = signature.HasInput("text_embeds");
        if (TakesAddedConditioning)
        {
            signature.Input("text_embeds", Float32, 2);
            signature.Input("time_ids", Float32, 2);
        }

        var scale = signature.Input("ip_scale", Float32, 2);
        var layers = scale.Fixed(1) ?? throw signature.Mismatch("ip_scale [B, layers] with a fixed number of layers");
        _channels = new int[layers];
        for (var n = 0; n < layers; n++)
        {
            var key = signature.Input($"ip_key_{n}", Float32, 3);
            signature.Input($"ip_value_{n}", Float32, 3);
            _channels[n] = key.Fixed(2) ?? 0;
        }
    }

    /// <summary>Opens the graph <paramref name="source"/> describes through <paramref name="cache"/> and checks its inputs.</summary>
    public static IpAdaptedUNet Open(OnnxSessionCache cache, OnnxModelSource source) => new(new ModelSession(cache, source, "IP-adapted UNet"));

    /// <summary>Whether it takes SDXL's added conditioning (<c>text_embeds</c>, <c>time_ids</c>).</summary>
    public bool TakesAddedConditioning { get; }

    /// <summary>The width of each cross-attention layer.</summary>
    public IReadOnlyList<int> Channels => _channels;

    /// <summary>Predicts the noise (or v) with each row's image prompt attended at its scale.</summary>
    /// <param name="sample">The scaled model input [B, C, h, w].</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="timestep">The timestep for every row.</param>
    /// <param name="encoderHiddenStates">[B, tokens, width].</param>
    /// <param name="tokens">The text sequence length.</param>
    /// <param name="rows">Each row's keys and values (all with the same token count).</param>
    /// <param name="scales">[B, layers]: each row's scale per layer.</param>
    /// <param name="textEmbeds">SDXL's pooled text embeddings [B, pooled], or null for SD 1.x.</param>
    /// <param name="timeIds">SDXL's size conditioning [B, time ids], or null for SD 1.x.</param>
    /// <param name="prediction">Receives [B, out channels, h, w].</param>
    /// <param name="cancellationToken">Stops the evaluation.</param>
    public void Predict(
        float[] sample, LatentShape shape, float timestep, float[] encoderHiddenStates, int tokens,
        IReadOnlyList<IpKeysValues> rows, float[] scales, float[]? textEmbeds, float[]? timeIds, Span<float> prediction, CancellationToken cancellationToken)
    {
        if (TakesAddedConditioning && (textEmbeds is null || timeIds is null))
        {
            throw new ArgumentException($"the IP-adapted UNet '{_model.ModelPath}' is SDXL's: it needs text_embeds and time_ids");
        }

        var layers = _channels.Length;
        var imageTokens = rows[0].Tokens;
        foreach (var row in rows)
        {
            if (row.Layers != layers || row.Channels.Where((c, n) => _channels[n] != 0 && c != _channels[n]).Any())
            {
                throw new ArgumentException($"the IP-Adapter makes keys for {row.Layers} layers ({string.Join("/", row.Channels.Distinct())} wide) but the UNet '{_model.ModelPath}' has {layers} cross-attention layers ({string.Join("/", _channels.Distinct())} wide); the adapter was made for another model family");
            }

            if (row.Tokens != imageTokens)
            {
                throw new ArgumentException($"the batched rows carry image prompts of different lengths ({row.Tokens} and {imageTokens} tokens); give the positive and the negative the same number of images");
            }
        }

        var timesteps = Enumerable.Repeat(timestep, shape.Batch).ToArray();
        var width = encoderHiddenStates.Length / (shape.Batch * tokens);
        var names = new List<string> { "sample", "timestep", "encoder_hidden_states", "ip_scale" };
        var values = new List<OrtValue>();
        try
        {
            values.Add(OrtValue.CreateTensorValueFromMemory(sample, [shape.Batch, shape.Channels, shape.Height, shape.Width]));
            values.Add(OrtValue.CreateTensorValueFromMemory(timesteps, [shape.Batch]));
            values.Add(OrtValue.CreateTensorValueFromMemory(encoderHiddenStates, [shape.Batch, tokens, width]));
            values.Add(OrtValue.CreateTensorValueFromMemory(scales, [shape.Batch, layers]));
            if (TakesAddedConditioning)
            {
                names.AddRange(["text_embeds", "time_ids"]);
                values.Add(OrtValue.CreateTensorValueFromMemory(textEmbeds!, [shape.Batch, textEmbeds!.Length / shape.Batch]));
                values.Add(OrtValue.CreateTensorValueFromMemory(timeIds!, [shape.Batch, timeIds!.Length / shape.Batch]));
            }

            for (var n = 0; n < layers; n++)
            {
                var channels = rows[0].Channels[n];
                names.Add($"ip_key_{n}");
                values.Add(OrtValue.CreateTensorValueFromMemory(Stack(rows, r => r.Keys[n]), [shape.Batch, imageTokens, channels]));
                names.Add($"ip_value_{n}");
                values.Add(OrtValue.CreateTensorValueFromMemory(Stack(rows, r => r.Values[n]), [shape.Batch, imageTokens, channels]));
            }

            using var results = _model.Run([.. names], [.. values], ["out_sample"], cancellationToken);
            var output = results[0].GetTensorDataAsSpan<float>();
            if (output.Length != prediction.Length)
            {
                throw new ArgumentException($"the IP-adapted UNet predicted {output.Length} values where {prediction.Length} were expected");
            }

            output.CopyTo(prediction);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static float[] Stack(IReadOnlyList<IpKeysValues> rows, Func<IpKeysValues, float[]> part)
    {
        var item = part(rows[0]).Length;
        var result = new float[rows.Count * item];
        for (var r = 0; r < rows.Count; r++)
        {
            part(rows[r]).CopyTo(result, r * item);
        }

        return result;
    }
}
