using System.Diagnostics;
using FlowDiffusion.Diffusion.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Cli.Bench;

/// <summary>
/// The floor: the least code that produces the same image work on ONNX Runtime alone — the text encoder(s) once on the
/// batch of both prompts (<see cref="FloorText"/>; SDXL's two towers, pooled embeddings and size ids), the UNet once per step on the batch of both guidance halves, Euler steps, one VAE decode —
/// with the session options the engine uses by default (<see cref="OnnxSessionOptions.Cpu"/>). No tokenizer, no
/// graph, no PNG: what the engine adds shows as the difference. img2img adds the VAE encode of a test image and
/// enters the schedule where the engine does (<see cref="BenchSettings.StartIndex"/>).
/// </summary>
internal static class FloorPhase
{
    public static FloorResult Run(BenchSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var options = OnnxSessionOptions.Cpu.CreateSessionOptions();
        // The UNet's session profiles its cold run, which gives the shapes every kernel ran on (the step's FLOP count);
        // profiling ends before the warm run.
        var profileFolder = Directory.CreateTempSubdirectory("flowdiffusion-bench-profile-").FullName;
        using var unetOptions = OnnxSessionOptions.Cpu.CreateSessionOptions();
        // The prefix first: turning profiling on starts it with the prefix set at that moment (else the current folder).
        unetOptions.ProfileOutputPathPrefix = Path.Combine(profileFolder, "unet");
        unetOptions.EnableProfiling = true;
        try
        {
            // Created in parallel, as the engine's model.load does.
            var created = settings.Components.ToDictionary(c => c, c => Task.Run(() => new InferenceSession(Path.Combine(settings.Model, c, "model.onnx"), c == "unet" ? unetOptions : options)));
            Task.WaitAll(created.Values.ToArray(), cancellationToken);
            using var text = created["text_encoder"].Result;
            using var text2 = settings.IsSdxl ? created["text_encoder_2"].Result : null;
            using var unet = created["unet"].Result;
            using var vae = created["vae_decoder"].Result;
            using var encoder = settings.IsImg2Img ? created["vae_encoder"].Result : null;
            var load = clock.Elapsed.TotalSeconds;
            var cold = Generate(text, text2, unet, vae, encoder, settings, load, clock, cancellationToken);
            var (flops, runs) = OrtProfileFlops.Read(unet.EndProfiling());
            var warm = Generate(text, text2, unet, vae, encoder, settings, 0, Stopwatch.StartNew(), cancellationToken);
            var matmul = MatMulProbe.Measure(options);
            return new FloorResult(cold, warm, runs == settings.StepsRun ? flops : 0, matmul);
        }
        finally
        {
            Directory.Delete(profileFolder, recursive: true);
        }
    }

    private static StageTimes Generate(InferenceSession text, InferenceSession? text2, InferenceSession unet, InferenceSession vae, InferenceSession? encoder, BenchSettings settings, double load, Stopwatch clock, CancellationToken cancellationToken)
    {
        using var run = new RunOptions();
        var side = settings.Size / 8;
        var itemLength = 4 * side * side;
        var vaeScaling = settings.VaeScalingFactor();
        var vaeEncode = 0.0;
        float[]? imageLatent = null;
        if (encoder is not null)
        {
            var encodeImageStart = clock.Elapsed.TotalSeconds;
            imageLatent = EncodeImage(encoder, run, settings.Size, vaeScaling);
            vaeEncode = clock.Elapsed.TotalSeconds - encodeImageStart;
        }

        var encodeStart = clock.Elapsed.TotalSeconds;
        using var conditioning = FloorText.Encode(text, text2, unet, settings.Size, run);
        var encode = clock.Elapsed.TotalSeconds - encodeStart;

        var sampleMeta = unet.InputMetadata["sample"];
        var timestepMeta = unet.InputMetadata["timestep"];
        using var sample = new FloorTensor(sampleMeta.ElementDataType, [2, 4, side, side]);
        using var timestep = new FloorTensor(timestepMeta.ElementDataType, timestepMeta.Dimensions.Length == 0 ? [] : [2]);
        using var noise = new FloorTensor(unet.OutputMetadata[unet.OutputNames[0]].ElementDataType, [2, 4, side, side]);
        var (timesteps, sigmas) = EulerSchedule(settings.Steps);
        var latent = Gaussian(itemLength, settings.Seed);
        var first = settings.StartIndex;
        if (imageLatent is null)
        {
            var initial = MathF.Sqrt(sigmas[0] * sigmas[0] + 1);
            for (var i = 0; i < itemLength; i++) latent[i] *= initial;
        }
        else
        {
            // img2img: the image's latents noised to the schedule's entry point.
            for (var i = 0; i < itemLength; i++) latent[i] = imageLatent[i] + sigmas[first] * latent[i];
        }
        var input = new float[itemLength];
        var predicted = new float[2 * itemLength];
        var steps = new List<double>();
        string[] unetInputs = ["sample", "timestep", .. conditioning.Names];
        for (var s = first; s < settings.Steps; s++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stepStart = clock.Elapsed.TotalSeconds;
            var scale = 1 / MathF.Sqrt(sigmas[s] * sigmas[s] + 1);
            for (var i = 0; i < itemLength; i++) input[i] = latent[i] * scale;
            sample.Write(input);
            sample.Write(input, itemLength);
            timestep.Write(timestepMeta.Dimensions.Length == 0 ? [timesteps[s]] : [timesteps[s], timesteps[s]]);
            unet.Run(run, unetInputs, [sample.Value, timestep.Value, .. conditioning.Values], [unet.OutputNames[0]], [noise.Value]);
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
        for (var i = 0; i < itemLength; i++) input[i] = latent[i] / vaeScaling;
        scaled.Write(input);
        using var image = new FloorTensor(vae.OutputMetadata[vae.OutputNames[0]].ElementDataType, [1, 3, settings.Size, settings.Size]);
        vae.Run(run, [latentName], [scaled.Value], [vae.OutputNames[0]], [image.Value]);
        var decode = clock.Elapsed.TotalSeconds - decodeStart;
        return new StageTimes(clock.Elapsed.TotalSeconds, load, encode, steps, decode, 0, vaeEncode);
    }

    // A smooth [-1, 1] test image through the VAE encoder: the mean latent (the first four channels of an 8-channel
    // output), scaled by the VAE's factor.
    private static float[] EncodeImage(InferenceSession encoder, RunOptions run, int size, float vaeScaling)
    {
        var inputName = encoder.InputNames[0];
        using var image = new FloorTensor(encoder.InputMetadata[inputName].ElementDataType, [1, 3, size, size]);
        var pixels = new float[3 * size * size];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = MathF.Sin(i * 0.001f);
        image.Write(pixels);
        var outputName = encoder.OutputNames[0];
        var side = size / 8;
        var channels = encoder.OutputMetadata[outputName].Dimensions is { Length: 4 } d && d[1] > 0 ? d[1] : 4;
        using var latent = new FloorTensor(encoder.OutputMetadata[outputName].ElementDataType, [1, channels, side, side]);
        encoder.Run(run, [inputName], [image.Value], [outputName], [latent.Value]);
        var values = new float[4 * side * side];
        latent.Read(values);
        for (var i = 0; i < values.Length; i++) values[i] *= vaeScaling;
        return values;
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

/// <summary>
/// The floor's cold and warm runs, the FLOPs of one UNet call counted from the cold run's profile (0 when the profile
/// did not hold one call per step), and a large MatMul's FLOP rate measured in the same process.
/// </summary>
internal sealed record FloorResult(StageTimes Cold, StageTimes Warm, double UNetFlopsPerStep, MatMulRate MatMul);
