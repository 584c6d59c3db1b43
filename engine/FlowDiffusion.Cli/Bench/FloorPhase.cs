using System.Diagnostics;
using FlowDiffusion.Diffusion.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The floor: the least code that produces the same image work on ONNX Runtime alone — the text encoder once on the
/// batch of both prompts, the UNet once per step on the batch of both guidance halves, Euler steps, one VAE decode —
/// with the session options the engine uses by default (<see cref="OnnxSessionOptions.Cpu"/>). No tokenizer, no
/// graph, no PNG: what the engine adds shows as the difference.
/// </summary>
internal static class FloorPhase
{
    private const int Tokens = 77;
    private const float VaeScaling = 0.18215f;

    public static (StageTimes Cold, StageTimes Warm) Run(BenchSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var options = OnnxSessionOptions.Cpu.CreateSessionOptions();
        var paths = BenchSettings.Components.Select(c => Path.Combine(settings.Model, c, "model.onnx")).ToArray();
        // Created in parallel, as the engine's model.load does.
        var created = paths.Select(p => Task.Run(() => new InferenceSession(p, options))).ToArray();
        Task.WaitAll(created, cancellationToken);
        using var text = created[0].Result;
        using var unet = created[1].Result;
        using var vae = created[2].Result;
        var load = clock.Elapsed.TotalSeconds;
        var cold = Generate(text, unet, vae, settings, load, clock, cancellationToken);
        var warm = Generate(text, unet, vae, settings, 0, Stopwatch.StartNew(), cancellationToken);
        return (cold, warm);
    }

    private static StageTimes Generate(InferenceSession text, InferenceSession unet, InferenceSession vae, BenchSettings settings, double load, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var run = new RunOptions();
        var side = settings.Size / 8;
        var itemLength = 4 * side * side;

        var encodeStart = clock.Elapsed.TotalSeconds;
        var idsName = text.InputNames[0];
        using var ids = new FloorTensor(text.InputMetadata[idsName].ElementDataType, [2, Tokens]);
        var row = new float[Tokens];
        for (var batch = 0; batch < 2; batch++)
        {
            // Row 0 the empty negative prompt, row 1 a few words; ids below 1,000 fit every tokenizer's vocabulary.
            Array.Fill(row, 2f);
            row[0] = 1f;
            for (var i = 1; batch == 1 && i <= 8; i++) row[i] = 100 + i;
            ids.Write(row, batch * Tokens);
        }

        var hiddenName = text.OutputNames.Contains("last_hidden_state") ? "last_hidden_state" : text.OutputNames[0];
        var hiddenMeta = text.OutputMetadata[hiddenName];
        using var hidden = new FloorTensor(hiddenMeta.ElementDataType, [2, Tokens, hiddenMeta.Dimensions[^1]]);
        text.Run(run, [idsName], [ids.Value], [hiddenName], [hidden.Value]);
        var encode = clock.Elapsed.TotalSeconds - encodeStart;

        var sampleMeta = unet.InputMetadata["sample"];
        var timestepMeta = unet.InputMetadata["timestep"];
        var contextMeta = unet.InputMetadata["encoder_hidden_states"];
        using var sample = new FloorTensor(sampleMeta.ElementDataType, [2, 4, side, side]);
        using var timestep = new FloorTensor(timestepMeta.ElementDataType, timestepMeta.Dimensions.Length == 0 ? [] : [2]);
        using var noise = new FloorTensor(unet.OutputMetadata[unet.OutputNames[0]].ElementDataType, [2, 4, side, side]);
        // The text encoder's output feeds the UNet as it is when the types agree (they do in fp32 and fp16 exports).
        using var converted = contextMeta.ElementDataType == hidden.Type ? null : new FloorTensor(contextMeta.ElementDataType, [2, Tokens, hiddenMeta.Dimensions[^1]]);
        if (converted is not null)
        {
            var values = new float[2 * Tokens * hiddenMeta.Dimensions[^1]];
            hidden.Read(values);
            converted.Write(values);
        }

        var (timesteps, sigmas) = EulerSchedule(settings.Steps);
        var latent = Gaussian(itemLength, settings.Seed);
        var initial = MathF.Sqrt(sigmas[0] * sigmas[0] + 1);
        for (var i = 0; i < itemLength; i++) latent[i] *= initial;
        var input = new float[itemLength];
        var predicted = new float[2 * itemLength];
        var steps = new List<double>();
        string[] unetInputs = ["sample", "timestep", "encoder_hidden_states"];
        for (var s = 0; s < settings.Steps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stepStart = clock.Elapsed.TotalSeconds;
            var scale = 1 / MathF.Sqrt(sigmas[s] * sigmas[s] + 1);
            for (var i = 0; i < itemLength; i++) input[i] = latent[i] * scale;
            sample.Write(input);
            sample.Write(input, itemLength);
            timestep.Write(timestepMeta.Dimensions.Length == 0 ? [timesteps[s]] : [timesteps[s], timesteps[s]]);
            unet.Run(run, unetInputs, [sample.Value, timestep.Value, (converted ?? hidden).Value], [unet.OutputNames[0]], [noise.Value]);
            noise.Read(predicted);
            var dt = sigmas[s + 1] - sigmas[s];
            for (var i = 0; i < itemLength; i++)
            {
                var guided = predicted[i] + (float)BenchSettings.Cfg * (predicted[itemLength + i] - predicted[i]);
                latent[i] += dt * guided;
            }

            steps.Add(clock.Elapsed.TotalSeconds - stepStart);
        }

        var decodeStart = clock.Elapsed.TotalSeconds;
        var latentName = vae.InputNames[0];
        using var scaled = new FloorTensor(vae.InputMetadata[latentName].ElementDataType, [1, 4, side, side]);
        for (var i = 0; i < itemLength; i++) input[i] = latent[i] / VaeScaling;
        scaled.Write(input);
        using var image = new FloorTensor(vae.OutputMetadata[vae.OutputNames[0]].ElementDataType, [1, 3, settings.Size, settings.Size]);
        vae.Run(run, [latentName], [scaled.Value], [vae.OutputNames[0]], [image.Value]);
        var decode = clock.Elapsed.TotalSeconds - decodeStart;
        return new StageTimes(clock.Elapsed.TotalSeconds, load, encode, steps, decode, 0);
    }

    // Euler over SD's training schedule (scaled_linear 0.00085–0.012, 1,000 steps), timesteps spaced linearly from
    // 999 to 0 and sigmas interpolated between them, ending at 0: the same schedule shape as the engine's euler.
    private static (float[] Timesteps, float[] Sigmas) EulerSchedule(int steps)
    {
        var trained = new double[1000];
        var product = 1.0;
        for (var i = 0; i < trained.Length; i++)
        {
            var beta = Math.Pow(Math.Sqrt(0.00085) + i / 999.0 * (Math.Sqrt(0.012) - Math.Sqrt(0.00085)), 2);
            product *= 1 - beta;
            trained[i] = Math.Sqrt((1 - product) / product);
        }

        var timesteps = new float[steps];
        var sigmas = new float[steps + 1];
        for (var s = 0; s < steps; s++)
        {
            var t = steps == 1 ? 999.0 : 999.0 * (steps - 1 - s) / (steps - 1);
            var low = (int)Math.Floor(t);
            var high = Math.Min(low + 1, 999);
            timesteps[s] = (float)t;
            sigmas[s] = (float)(trained[low] + (t - low) * (trained[high] - trained[low]));
        }

        return (timesteps, sigmas);
    }

    private static float[] Gaussian(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }

        return values;
    }
}
