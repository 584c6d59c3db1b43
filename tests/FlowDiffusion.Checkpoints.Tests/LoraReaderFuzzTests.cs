using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>
/// Generated LoRA-family files never crash the reader or the update: each holds one module of LoRA (with or without a
/// Tucker middle), LoHa (with or without cores), LoKr (whole, decomposed or Tucker factors), GLoRA (either layout), OFT,
/// BOFT (with or without rescale) or set_weight built to fit one of the
/// tiny checkpoint's linear, 1×1 or 3×3 weights, with alpha and a DoRA scale at random, then damaged at random (a key
/// dropped, an axis resized, zeroed or made huge). Every key is either used by the matched module or listed unmatched,
/// exactly once; a matched module updates the weight to finite values of its size. Fixed seed, so every run checks the
/// same 1,500 files (FLOWDIFFUSION_FUZZ_ITERATIONS sets another count, FLOWDIFFUSION_FUZZ_SEED another seed).
/// </summary>
public sealed class LoraReaderFuzzTests : IDisposable
{
    private static readonly (string Module, string Weight)[] Targets =
    [
        ("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight"),
        ("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
        ("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj", "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight"),
        ("lora_unet_up_blocks_0_attentions_0_proj_in", "up_blocks.0.attentions.0.proj_in.weight"),
        ("lora_unet_down_blocks_0_resnets_0_conv1", "down_blocks.0.resnets.0.conv1.weight"),
        ("lora_te_text_model_encoder_layers_1_mlp_fc1", "text_model.encoder.layers.1.mlp.fc1.weight"),
    ];

    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "flowdiffusion-lora-fuzz-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Random_lycoris_modules_are_matched_or_listed_never_crash()
    {
        Directory.CreateDirectory(_scratch);
        var (unet, text) = Shapes();
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_ITERATIONS"), out var n) && n > 0 ? n : 1500;
        var random = new Random(int.TryParse(Environment.GetEnvironmentVariable("FLOWDIFFUSION_FUZZ_SEED"), out var seed) ? seed : 1729);
        var matched = 0;
        for (var i = 0; i < iterations; i++)
        {
            var (module, weight) = Targets[random.Next(Targets.Length)];
            var shape = (unet.TryGetValue(weight, out var s) ? s : text[weight]).ToArray();
            var tensors = Damage(random, Build(random, module, shape));
            var path = Path.Combine(_scratch, $"fuzz-{i % 8}.safetensors");
            SafetensorsWriter.Write(path, [.. tensors.Select(t => (t.Key, SafetensorsDType.Float32, t.Value, Values(random, t.Value)))]);

            using var file = SafetensorsFile.Open(path);
            var match = LoraReader.Match(file, unet, text);
            var used = match.Modules.SelectMany(m => m.Keys).Concat(match.Unmatched.Select(u => u.Key)).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), used);
            foreach (var found in match.Modules)
            {
                matched++;
                var values = Enumerable.Range(0, (int)found.Shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
                found.ApplyTo(file, values, 0.7f);
                Assert.All(values, v => Assert.True(float.IsFinite(v), $"file {i}: {found.Factors.Algorithm} on {found.Weight} gave {v}"));
            }
        }

        // The damage leaves enough files whole that the update itself is exercised, not only the refusals.
        Assert.InRange(matched, iterations / 5, iterations);
    }

    public void Dispose()
    {
        if (Directory.Exists(_scratch))
        {
            Directory.Delete(_scratch, recursive: true);
        }
    }

    // One module that fits a weight of `shape` ([out, in] or [out, in, kh, kw]).
    private static Dictionary<string, long[]> Build(Random random, string module, long[] shape)
    {
        var (output, input) = (shape[0], shape[1]);
        var kernel = shape.Length == 4 ? shape[2] * shape[3] : 1;
        long[] Kernel(long a, long b) => shape.Length == 4 ? [a, b, shape[2], shape[3]] : [a, b];
        long Rank() => random.Next(1, 5);
        var tensors = new Dictionary<string, long[]>(StringComparer.Ordinal);
        switch (random.Next(7))
        {
            case 0 when shape.Length == 4 && kernel > 1 && random.Next(2) == 0:
            {
                var r = Rank();
                (tensors[$"{module}.lora_down.weight"], tensors[$"{module}.lora_mid.weight"], tensors[$"{module}.lora_up.weight"]) = ([r, input, 1, 1], [r, r, shape[2], shape[3]], [output, r, 1, 1]);
                break;
            }

            case 0:
            {
                var r = Rank();
                (tensors[$"{module}.lora_down.weight"], tensors[$"{module}.lora_up.weight"]) = (Kernel(r, input), shape.Length == 4 ? [output, r, 1, 1] : [output, r]);
                break;
            }

            case 1:
            {
                var tucker = shape.Length == 4 && kernel > 1 && random.Next(2) == 0;
                foreach (var pair in new[] { "1", "2" })
                {
                    var (ra, rb) = (Rank(), Rank());
                    if (tucker)
                    {
                        (tensors[$"{module}.hada_w{pair}_a"], tensors[$"{module}.hada_w{pair}_b"], tensors[$"{module}.hada_t{pair}"]) = ([ra, output], [rb, input], [ra, rb, shape[2], shape[3]]);
                    }
                    else
                    {
                        (tensors[$"{module}.hada_w{pair}_a"], tensors[$"{module}.hada_w{pair}_b"]) = ([output, ra], [ra, input * kernel]);
                    }
                }

                break;
            }

            case 3:
            {
                var r = Rank();
                if (random.Next(2) == 0)
                {
                    // current layout: a1 [in, r], a2 [r, in], b1 [out, r], b2 [r, in(, kh, kw)]
                    (tensors[$"{module}.a1.weight"], tensors[$"{module}.a2.weight"]) = ([input, r], [r, input]);
                    (tensors[$"{module}.b1.weight"], tensors[$"{module}.b2.weight"]) = (shape.Length == 4 ? [output, r, 1, 1] : [output, r], Kernel(r, input));
                }
                else
                {
                    // old layout: b2 [out, r], b1 [r, in·k], a2 [in·k, r], a1 [r, in·k]
                    (tensors[$"{module}.b2.weight"], tensors[$"{module}.b1.weight"]) = ([output, r], Kernel(r, input));
                    (tensors[$"{module}.a2.weight"], tensors[$"{module}.a1.weight"]) = ([input * kernel, r], Kernel(r, input));
                }

                break;
            }

            case 4:
            {
                var size = Divisor(random, output, 32);
                tensors[$"{module}.oft_blocks"] = [output / size, size, size];
                if (random.Next(2) == 0)
                {
                    tensors[$"{module}.rescale"] = shape.Length == 4 ? [output, 1, 1, 1] : [output, 1];
                }

                break;
            }

            case 5:
            {
                var size = new long[] { 2, 4, 8 }.Where(b => output % b == 0).ElementAt(random.Next(new long[] { 2, 4, 8 }.Count(b => output % b == 0)));
                var stages = 1;
                while (stages < 4 && (1L << stages) * size <= output && output % ((1L << stages) * size) == 0)
                {
                    stages++;
                }

                tensors[$"{module}.oft_blocks"] = [random.Next(1, stages + 1), output / size, size, size];
                tensors[$"{module}.alpha"] = [];
                if (random.Next(2) == 0)
                {
                    tensors[$"{module}.rescale"] = shape.Length == 4 ? [output, 1, 1, 1] : [output, 1];
                }

                break;
            }

            case 6:
                tensors[$"{module}.set_weight"] = shape;
                break;

            default:
            {
                var a = Divisor(random, output);
                var b = Divisor(random, input);
                var (c, d) = (output / a, input / b);
                if (random.Next(2) == 0)
                {
                    tensors[$"{module}.lokr_w1"] = [a, b];
                }
                else
                {
                    var r = Rank();
                    (tensors[$"{module}.lokr_w1_a"], tensors[$"{module}.lokr_w1_b"]) = ([a, r], [r, b]);
                }

                var form = random.Next(3);
                if (form == 0)
                {
                    tensors[$"{module}.lokr_w2"] = Kernel(c, d);
                }
                else if (form == 1 || kernel == 1)
                {
                    var r = Rank();
                    (tensors[$"{module}.lokr_w2_a"], tensors[$"{module}.lokr_w2_b"]) = ([c, r], [r, d * kernel]);
                }
                else
                {
                    var (r, r2) = (Rank(), Rank());
                    (tensors[$"{module}.lokr_w2_a"], tensors[$"{module}.lokr_w2_b"], tensors[$"{module}.lokr_t2"]) = ([r, c], [r2, d], [r, r2, shape[2], shape[3]]);
                }

                break;
            }
        }

        if (random.Next(2) == 0)
        {
            tensors[$"{module}.alpha"] = [];
        }

        if (random.Next(3) == 0)
        {
            tensors[$"{module}.dora_scale"] = random.Next(2) == 0 ? (shape.Length == 4 ? [output, 1, 1, 1] : [output, 1]) : (shape.Length == 4 ? [1, input, 1, 1] : [1, input]);
        }

        return tensors;
    }

    // At random: nothing, a key dropped, or one axis changed (off by one, zero, or larger than the weight).
    private static Dictionary<string, long[]> Damage(Random random, Dictionary<string, long[]> tensors)
    {
        var keys = tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var key = keys[random.Next(keys.Length)];
        switch (random.Next(5))
        {
            case 0:
                tensors.Remove(key);
                break;
            case 1 when tensors[key].Length > 0:
                var shape = tensors[key].ToArray();
                var axis = random.Next(shape.Length);
                shape[axis] = random.Next(4) switch { 0 => 0, 1 => shape[axis] + 1, 2 => Math.Max(1, shape[axis] - 1), _ => 300 };
                tensors[key] = shape;
                break;
        }

        return tensors;
    }

    private static long Divisor(Random random, long n, long largest = long.MaxValue)
    {
        var divisors = Enumerable.Range(1, (int)n).Where(d => n % d == 0 && d <= largest).ToArray();
        return divisors[random.Next(divisors.Length)];
    }

    // Small values (magnitudes near the checkpoint's); positive for alpha and DoRA scales.
    private static byte[] Values(Random random, long[] shape)
    {
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        return [.. Enumerable.Range(0, count).SelectMany(_ => BitConverter.GetBytes((float)(shape.Length == 0 ? random.Next(1, 9) : (random.NextDouble() - 0.5) * 0.6)))];
    }

    private static (Dictionary<string, IReadOnlyList<long>> UNet, Dictionary<string, IReadOnlyList<long>> TextEncoder) Shapes()
    {
        using var checkpoint = Sd1Checkpoint.Open(Reference.LdmFile);
        return (
            checkpoint.Weights.Part(ModelPart.UNet).ToDictionary(p => p.Key, p => (IReadOnlyList<long>)p.Value.Shape),
            checkpoint.Weights.Part(ModelPart.TextEncoder).ToDictionary(p => p.Key, p => (IReadOnlyList<long>)p.Value.Shape));
    }
}
