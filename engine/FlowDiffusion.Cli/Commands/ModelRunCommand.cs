using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Embeddings;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Checkpoints.Graphs;
using FlowDiffusion.Checkpoints.Lora;
using FlowDiffusion.Diffusion.Onnx;
using FlowDiffusion.Formats.Safetensors;
using FlowDiffusion.Sdk.Diffusion;
using FlowDiffusion.Sdk.Models;

namespace FlowDiffusion.Cli.Commands;

/// <summary>
/// <c>flowdiffusion model-run</c>: feeds named tensors to one part of a model — a .safetensors checkpoint, a diffusers
/// folder or a diffusers-ONNX folder, through the graphs model.load uses — and writes its float32 outputs, so users
/// can compare a converted model with their own reference (e.g. diffusers in Python).
/// </summary>
internal static class ModelRunCommand
{
    private static readonly string[] Parts = ["unet", "text-encoder", "vae-encode", "vae-decode"];

    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = "A .safetensors SD 1.x or SDXL checkpoint, a diffusers folder with .safetensors weights, or a diffusers-ONNX folder." };
        var part = new Option<string>("--part")
        {
            Description = "unet: sample, timestep, encoder_hidden_states (SDXL: also text_embeds, time_ids) → out_sample. text-encoder: input_ids → last_hidden_state "
                + "(after the final layer norm, for --clip-skip), pooled; SDXL: input_ids, input_ids_2 → encoder_hidden_states (both towers' penultimate states), text_embeds. "
                + "vae-encode: sample (image in [-1, 1]) → mean. vae-decode: latent_sample (already divided by the scaling factor) → sample.",
            Required = true,
        };
        part.AcceptOnlyFromAmong(Parts);
        var input = new Option<string>("--in") { Description = "A .safetensors file with the part's input tensors (any float type; input_ids as integers).", Required = true, HelpName = "IN.safetensors" };
        var output = new Option<string>("--out") { Description = "The .safetensors file to write the float32 outputs to.", Required = true, HelpName = "OUT.safetensors" };
        var loras = new Option<string[]>("--lora") { Description = "A LoRA and its strength (UNet and text encoder alike), e.g. models/loras/x.safetensors:0.8. Repeatable.", HelpName = "FILE:STRENGTH" };
        var controlnets = new Option<string[]>("--controlnet")
        {
            Description = "For --part unet: a ControlNet (.safetensors, diffusers folder or .onnx) and its strength, e.g. models/controlnet/canny.safetensors:1; "
                + "the first reads its control image from tensor controlnet_cond, the i-th (from 1) from controlnet_cond_i ([B, 3, H, W] in [0, 1] at image resolution). "
                + "Repeatable: the residuals × strength are summed. MODEL must be a checkpoint or diffusers folder (converted with its controlled UNet graph). "
                + "A union ControlNet (ControlNet++) runs with its control type \"auto\" (none); set one with controlnet.union_type in a workflow.",
            HelpName = "FILE:STRENGTH",
        };
        var adapters = new Option<string[]>("--t2i-adapter")
        {
            Description = "For --part unet: a T2I-Adapter (.safetensors, diffusers folder or .onnx) and its strength, e.g. models/controlnet/t2iadapter_canny_sd15v2.safetensors:1; "
                + "the first reads its control image from tensor adapter_cond, the i-th (from 1) from adapter_cond_i ([B, C, H, W] in [0, 1] at image resolution, C the adapter's 1 or 3). "
                + "Repeatable, and combines with --controlnet: the features × strength are summed. MODEL must be a checkpoint or diffusers folder.",
            HelpName = "FILE:STRENGTH",
        };
        var ipAdapter = new Option<string?>("--ipadapter")
        {
            Description = "For --part unet: an IP-Adapter (.safetensors or .onnx) and its weight, e.g. models/ipadapter/ip-adapter_sd15.safetensors:0.7; row b attends to "
                + "image b of tensor image_embeds [B, width] (IP-Adapter Plus: penultimate_hidden_states [B, tokens, width]), or of pixel_values [B, 3, S, S] (preprocessed) encoded with --clip-vision; "
                + "with --controlnet both act in the same call. MODEL must be an SD 1.x or SDXL checkpoint or diffusers folder (SDXL: also text_embeds and time_ids).",
            HelpName = "FILE:WEIGHT",
        };
        var clipVision = new Option<string?>("--clip-vision") { Description = "With --ipadapter: the CLIP image encoder (.safetensors, folder or .onnx) for pixel_values.", HelpName = "FILE" };
        var clipSkip = new Option<int>("--clip-skip") { Description = "1 = the last layer, 2 = the penultimate layer then the final layer norm.", DefaultValueFactory = _ => 1 };
        var embeddings = new Option<string?>("--embeddings") { Description = "A folder of textual-inversion embeddings: ids from the encoder's vocabulary size on name their vectors, in file-name order (as model.load numbers them); SDXL embeddings' clip_l vectors go to the first text encoder, clip_g to the second.", HelpName = "DIR" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = $"For a single-file checkpoint: a CLIP tokenizer folder; default {TokenizerLocator.DefaultFolder}, then the Hugging Face cache.", HelpName = "DIR" };
        var command = new Command("model-run", "Run one part of a model on tensors from a .safetensors file and write its outputs (to check a converted model).")
        {
            model, part, input, output, loras, controlnets, adapters, ipAdapter, clipVision, clipSkip, embeddings, tokenizer,
        };
        CommandAction.Set(command, (parse, cancellationToken) =>
        {
            try
            {
                var folder = ModelFolderOf(parse.GetValue(model)!, parse.GetValue(tokenizer));
                var overrides = parse.GetValue(loras) ?? [];
                if ((parse.GetValue(controlnets) ?? []).Length > 0 && parse.GetValue(part) != "unet")
                {
                    throw new UsageException("--controlnet works with --part unet only");
                }

                if ((parse.GetValue(adapters) ?? []).Length > 0 && parse.GetValue(part) != "unet")
                {
                    throw new UsageException("--t2i-adapter works with --part unet only");
                }

                if (parse.GetValue(ipAdapter) is not null && parse.GetValue(part) != "unet")
                {
                    throw new UsageException("--ipadapter works with --part unet only");
                }

                using var cache = new OnnxSessionCache();
                using var tensors = SafetensorsFile.Open(parse.GetValue(input)!);
                var outputs = parse.GetValue(part) switch
                {
                    "unet" => RunUNet(cache, folder, tensors, overrides, parse.GetValue(controlnets) ?? [], parse.GetValue(adapters) ?? [], (parse.GetValue(ipAdapter), parse.GetValue(clipVision)), cancellationToken),
                    "text-encoder" => RunTextEncoder(cache, folder, tensors, overrides, parse.GetValue(clipSkip), parse.GetValue(embeddings), cancellationToken),
                    "vae-encode" => RunVaeEncoder(cache, folder, tensors, cancellationToken),
                    _ => RunVaeDecoder(cache, folder, tensors, cancellationToken),
                };
                SafetensorsWriter.WriteFloat32(parse.GetValue(output)!, outputs);
                Console.WriteLine($"Wrote {parse.GetValue(output)}: " + string.Join(", ", outputs.Select(o => $"{o.Name} [{string.Join(",", o.Shape)}]")));
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointException or ArgumentException or InvalidDataException
                or NotSupportedException or ModelMismatchException or OnnxModelLoadException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(ExitCodes.Failed);
            }
        });
        return command;
    }

    private static ModelFolder ModelFolderOf(string model, string? tokenizer)
    {
        if (!File.Exists(model) && !Directory.Exists(model))
        {
            throw new UsageException($"MODEL {model}: no such file or folder");
        }

        if (!CheckpointCache.IsCheckpoint(model))
        {
            return ModelFolder.Open(model);
        }

        var own = Path.Combine(model, "tokenizer");
        var tokenizerFolder = tokenizer is null && Directory.Exists(own) ? own : TokenizerLocator.Find(tokenizer, Environment.CurrentDirectory);
        return ModelFolder.Open(CheckpointCache.Prepare(model, tokenizerFolder, CheckpointCache.DefaultRoot,
            () => Console.Error.WriteLine($"converting {Path.GetFileName(model)} to ONNX (first use only)")));
    }

    private static List<(string Name, long[] Shape, float[] Values)> RunUNet(
        OnnxSessionCache cache, ModelFolder folder, SafetensorsFile tensors, string[] loras, string[] controlnets, string[] adapters, (string? Spec, string? ClipVision) ipAdapter, CancellationToken cancellationToken)
    {
        using var plain = UNet.Open(cache, folder.UNetPath);
        using var unet = plain.WithOverrides(LoraOverrides(loras, plain.Weights, null, LoraNetwork.UNet));
        var (sample, shape) = Floats(tensors, "sample", 4);
        var (timestep, _) = Floats(tensors, "timestep", null);
        var (context, contextShape) = Floats(tensors, "encoder_hidden_states", 3);
        var latent = new LatentShape((int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
        float[] prediction;
        if (ipAdapter.Spec is not null || controlnets.Length > 0 || adapters.Length > 0)
        {
            prediction = PredictVariant(cache, unet, tensors, controlnets, adapters, ipAdapter, sample, latent, timestep, context, (int)contextShape[1], cancellationToken);
        }
        else if (unet.TakesAddedConditioning)
        {
            // SDXL: the pooled projection and the size conditioning [original h, w, crop top, left, target h, w].
            prediction = new float[shape[0] * unet.OutChannels * shape[2] * shape[3]];
            var (textEmbeds, _) = Floats(tensors, "text_embeds", 2);
            var (timeIds, _) = Floats(tensors, "time_ids", 2);
            unet.Predict(sample, latent, timestep, context, (int)contextShape[1], textEmbeds, timeIds, prediction, cancellationToken);
        }
        else
        {
            prediction = unet.Predict(sample, latent, timestep, context, (int)contextShape[1], cancellationToken);
        }

        return [("out_sample", [shape[0], unet.OutChannels, shape[2], shape[3]], prediction)];
    }

    // Row by row (rows may have different timesteps): each ControlNet's residuals × strength summed, each T2I-Adapter's
    // features × strength summed and the row's image prompt, then the UNet graph variant that takes them.
    private static float[] PredictVariant(OnnxSessionCache cache, UNet unet, SafetensorsFile tensors, string[] controlnets, string[] adapters, (string? Spec, string? ClipVision) ipAdapter,
        float[] sample, LatentShape shape, float[] timestep, float[] context, int tokens, CancellationToken cancellationToken)
    {
        var takesResiduals = controlnets.Length > 0 || adapters.Length > 0;
        var variantFile = UNetVariant.FileName(takesResiduals, ipAdapted: ipAdapter.Spec is not null);
        var option = string.Join(" with ", new[] { (controlnets.Length > 0, "--controlnet"), (adapters.Length > 0, "--t2i-adapter"), (ipAdapter.Spec is not null, "--ipadapter") }.Where(o => o.Item1).Select(o => o.Item2));
        var controlledPath = Path.Combine(Path.GetDirectoryName(unet.ModelPath)!, variantFile);
        if (!File.Exists(controlledPath))
        {
            throw new ArgumentException($"{option}: the UNet '{unet.ModelPath}' has no graph that takes {(takesResiduals ? "ControlNet residuals" : "IP-Adapter keys and values")} ({variantFile}); give a .safetensors checkpoint or diffusers folder");
        }

        var controlled = UNetVariant.Open(cache, new OnnxModelSource(controlledPath, unet.Source.Options, unet.Source.Overrides), "UNet variant");
        var prompt = ipAdapter.Spec is { } adapterSpec ? ModelRunImagePrompt.Rows(cache, unet, tensors, adapterSpec, ipAdapter.ClipVision, shape, controlled.IpChannels.Count, cancellationToken) : null;
        // SDXL: the ControlNet's encoder takes the UNet's pooled projection and size conditioning too.
        var textEmbeds = controlled.TakesAddedConditioning ? Floats(tensors, "text_embeds", 2).Values : null;
        var timeIds = controlled.TakesAddedConditioning ? Floats(tensors, "time_ids", 2).Values : null;
        var nets = new List<(ControlNetModel Model, float Strength, float[] Image, long[] Shape, bool GlobalPool)>();
        for (var i = 0; i < controlnets.Length; i++)
        {
            var spec = controlnets[i];
            var (file, strength) = ModelRunSpec.Parse("--controlnet", spec, "STRENGTH", "models/controlnet/canny.safetensors:1");

            var graph = file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
                ? file
                : ControlNetCache.Prepare(file, ControlNetCache.DefaultRoot, () => Console.Error.WriteLine($"converting {Path.GetFileName(file)} to ONNX (first use only)"));
            var name = i == 0 ? "controlnet_cond" : $"controlnet_cond_{i}";
            var (image, imageShape) = Floats(tensors, name, 4);
            if (imageShape[0] != shape.Batch || imageShape[1] != 3 || imageShape[2] != shape.Height * 8 || imageShape[3] != shape.Width * 8)
            {
                throw new ArgumentException($"{tensors.Path}: tensor '{name}' has shape [{string.Join(", ", imageShape)}]; [{shape.Batch}, 3, {shape.Height * 8}, {shape.Width * 8}] expected (the control image at image resolution)");
            }

            nets.Add((ControlNetModel.Open(cache, new OnnxModelSource(graph, unet.Source.Options)), strength, image, imageShape, ControlNetModel.PoolsGlobally(file)));
        }

        var features = ModelRunAdapters.RowFeatures(cache, unet.Source.Options, tensors, adapters, shape, cancellationToken);
        var row = shape.WithBatch(1);
        var rowLength = shape.Channels * shape.Height * shape.Width;
        var contextLength = context.Length / shape.Batch;
        var output = new float[shape.Batch * unet.OutChannels * shape.Height * shape.Width];
        var outLength = output.Length / shape.Batch;
        for (var b = 0; b < shape.Batch; b++)
        {
            var x = sample.AsSpan(b * rowLength, rowLength).ToArray();
            var c = context.AsSpan(b * contextLength, contextLength).ToArray();
            var t = timestep.Length == 1 ? timestep[0] : timestep[b];
            var pooled = textEmbeds?.AsSpan(b * (textEmbeds.Length / shape.Batch), textEmbeds.Length / shape.Batch).ToArray();
            var ids = timeIds?.AsSpan(b * (timeIds.Length / shape.Batch), timeIds.Length / shape.Batch).ToArray();
            var sum = nets.Count == 0 ? null : new Dictionary<string, ControlResidual>(StringComparer.Ordinal);
            foreach (var (model, strength, image, imageShape, globalPool) in nets)
            {
                var imageLength = (int)(image.Length / imageShape[0]);
                var residuals = model.Predict(x, row, t, c, tokens, image.AsSpan(b * imageLength, imageLength).ToArray(), [1, .. imageShape[1..]], pooled, ids, null, cancellationToken);
                residuals = globalPool ? [.. residuals.Select(r => r.PooledGlobally())] : residuals;
                if (sum!.Count == 0)
                {
                    sum = residuals.ToDictionary(r => r.Name, r => r with { Values = new float[r.Values.Length] }, StringComparer.Ordinal);
                }

                foreach (var residual in residuals)
                {
                    if (!sum.TryGetValue(residual.Name, out var total) || total.Values.Length != residual.Values.Length)
                    {
                        throw new ArgumentException($"--controlnet: the ControlNets give different residuals ('{residual.Name}'); they were made for different UNets");
                    }

                    for (var k = 0; k < residual.Values.Length; k++) total.Values[k] += strength * residual.Values[k];
                }
            }

            if (features[b].Count > 0)
            {
                sum ??= new Dictionary<string, ControlResidual>(StringComparer.Ordinal);
                foreach (var (name, feature) in features[b]) sum[name] = feature;
            }

            controlled.Predict(x, row, t, c, tokens, new UNetVariantInputs(pooled, ids, Residuals: sum, ImagePrompt: prompt?[b]), output.AsSpan(b * outLength, outLength), cancellationToken);
        }

        return output;
    }

    private static List<(string Name, long[] Shape, float[] Values)> RunTextEncoder(
        OnnxSessionCache cache, ModelFolder folder, SafetensorsFile tensors, string[] loras, int clipSkip, string? embeddings, CancellationToken cancellationToken)
    {
        if (folder.TextEncoder2Path is { } second)
        {
            // An SDXL refiner has the second tower alone.
            return RunSdxlTextEncoders(folder.TextEncoderPath is { } path ? TextEncoder.Open(cache, path) : null, TextEncoder.Open(cache, second), tensors, loras, clipSkip, embeddings, cancellationToken);
        }

        var encoder = TextEncoder.Open(cache, folder.TextEncoderPath!);

        var table = EmbeddingTable.TableOf(encoder.Weights);
        var overrides = LoraOverrides(loras, encoder.Weights, null, LoraNetwork.TextEncoder).ToList();
        if (embeddings is not null)
        {
            if (!Directory.Exists(embeddings))
            {
                throw new UsageException($"--embeddings {embeddings}: no such folder");
            }

            var (name, rows, width) = table ?? throw new ArgumentException($"--embeddings: the text encoder '{encoder.ModelPath}' has no token-embedding table to add embeddings to.");
            var embeddingTable = new EmbeddingTable(TextualInversionReader.List(embeddings), name, rows, width);
            foreach (var (bad, reason) in embeddingTable.Errors)
            {
                Console.Error.WriteLine($"warning: embedding '{bad}' not added: {reason}");
            }

            overrides.Add(embeddingTable.Override());
        }

        encoder = encoder.WithOverrides(overrides);
        var (ids, shape) = Ints(tensors, "input_ids");
        var batch = (int)shape[0];
        var last = encoder.Encode(ids, batch, clipSkip, cancellationToken);
        var final = clipSkip == 1 ? last : encoder.Encode(ids, batch, 1, cancellationToken);
        // CLIP's pooled output: the final hidden state at the first position holding the largest vocabulary id (the end-of-text token).
        var sequence = (int)shape[1];
        var widthOut = final.Shape[^1];
        var vocabulary = table?.Rows ?? int.MaxValue;
        var pooled = new float[batch * widthOut];
        for (var b = 0; b < batch; b++)
        {
            var row = ids.AsSpan(b * sequence, sequence);
            var at = 0;
            for (var i = 1; i < sequence; i++)
            {
                if (row[i] < vocabulary && (row[at] >= vocabulary || row[i] > row[at]))
                {
                    at = i;
                }
            }

            final.Values.AsSpan((b * sequence + at) * widthOut, widthOut).CopyTo(pooled.AsSpan(b * widthOut));
        }

        return [("last_hidden_state", [.. last.Shape.Select(d => (long)d)], last.Values), ("pooled", [batch, widthOut], pooled)];
    }

    /// <summary>SDXL: both towers' penultimate states side by side (the UNet's context) and the second tower's projected pooled output.</summary>
    private static List<(string Name, long[] Shape, float[] Values)> RunSdxlTextEncoders(
        TextEncoder? first, TextEncoder second, SafetensorsFile tensors, string[] loras, int clipSkip, string? embeddings, CancellationToken cancellationToken)
    {
        if (clipSkip != 1)
        {
            throw new UsageException($"--clip-skip {clipSkip}: SDXL already conditions on both text encoders' penultimate layers; leave it at 1.");
        }

        var firstOverrides = first is null ? [] : LoraOverrides(loras, first.Weights, second.Weights, LoraNetwork.TextEncoder).ToList();
        var secondOverrides = LoraOverrides(loras, first?.Weights ?? [], second.Weights, LoraNetwork.TextEncoder2).ToList();
        if (embeddings is not null)
        {
            var tables = SdxlEmbeddingTables(embeddings, first, second);
            if (first is not null) firstOverrides.Add(tables[0].Override());
            secondOverrides.Add(tables[^1].Override());
        }

        first = first?.WithOverrides(firstOverrides);
        second = second.WithOverrides(secondOverrides);
        var (ids2, shape) = Ints(tensors, "input_ids_2");
        var ids = ids2;
        if (first is not null)
        {
            (ids, var shape1) = Ints(tensors, "input_ids");
            if (!shape1.SequenceEqual(shape))
            {
                throw new ArgumentException($"{tensors.Path}: input_ids {string.Join("x", shape1)} and input_ids_2 {string.Join("x", shape)} differ in shape.");
            }
        }

        var batch = (int)shape[0];
        var sequence = (int)shape[1];
        var a = first?.EncodeOutputs(ids, batch, [first.RequireSdxlContextOutput()], cancellationToken)[0];
        var b = second.EncodeOutputs(ids2, batch, [second.RequireSdxlContextOutput(), SdxlTextEncoderGraph.TextEmbedsOutput], cancellationToken);
        int w1 = a?.Shape[^1] ?? 0, w2 = b[0].Shape[^1];
        var context = new float[batch * sequence * (w1 + w2)];
        for (var t = 0; t < batch * sequence; t++)
        {
            a?.Values.AsSpan(t * w1, w1).CopyTo(context.AsSpan(t * (w1 + w2)));
            b[0].Values.AsSpan(t * w2, w2).CopyTo(context.AsSpan((t * (w1 + w2)) + w1));
        }

        return [("encoder_hidden_states", [batch, sequence, w1 + w2], context), ("text_embeds", [.. b[1].Shape.Select(d => (long)d)], b[1].Values)];
    }

    /// <summary>
    /// SDXL embeddings: each tower's token table extended with the files' own vectors for it (<c>clip_l</c> for CLIP ViT-L,
    /// <c>clip_g</c> for OpenCLIP; the refiner has the second alone) under the same ids, from the vocabulary size on in file-name
    /// order, as model.load numbers them. Tables for the towers in order.
    /// </summary>
    private static EmbeddingTable[] SdxlEmbeddingTables(string embeddings, TextEncoder? first, TextEncoder second)
    {
        if (!Directory.Exists(embeddings))
        {
            throw new UsageException($"--embeddings {embeddings}: no such folder");
        }

        var files = TextualInversionReader.List(embeddings);
        var towers = first is null ? new[] { (second, "clip_g") } : [(first, "clip_l"), (second, "clip_g")];
        var tables = towers.Select(t =>
        {
            var (name, rows, width) = EmbeddingTable.TableOf(t.Item1.Weights)
                ?? throw new ArgumentException($"--embeddings: the text encoder '{t.Item1.ModelPath}' has no token-embedding table to add embeddings to.");
            return new EmbeddingTable(files, name, rows, width, t.Item2);
        }).ToArray();
        if (tables.Select(t => t.FirstId).Distinct().Count() > 1)
        {
            throw new ArgumentException($"--embeddings: the text encoders have vocabularies of {string.Join(" and ", tables.Select(t => t.FirstId))} tokens, so one id cannot name a vector in each.");
        }

        foreach (var (bad, reason) in tables.SelectMany(t => t.Errors).DistinctBy(e => e.Key))
        {
            Console.Error.WriteLine($"warning: embedding '{bad}' not added: {reason}");
        }

        foreach (var (name, ids) in tables[0].Ids)
        {
            if (tables.Any(t => !t.Ids.TryGetValue(name, out var theirs) || !theirs.SequenceEqual(ids)))
            {
                throw new ArgumentException($"--embeddings: embedding '{name}' has different numbers of clip_l and clip_g vectors (or one before it in {embeddings} has), so the two text encoders cannot share its ids.");
            }
        }

        return tables;
    }

    private static List<(string Name, long[] Shape, float[] Values)> RunVaeEncoder(OnnxSessionCache cache, ModelFolder folder, SafetensorsFile tensors, CancellationToken cancellationToken)
    {
        using var encoder = VaeEncoder.Open(cache, folder.RequireVaeEncoder());
        var (image, shape) = Floats(tensors, "sample", 4);
        var mean = encoder.Encode(image, [.. shape.Select(d => (int)d)], null, cancellationToken);
        return [("mean", [.. mean.Shape.Select(d => (long)d)], mean.Values)];
    }

    private static List<(string Name, long[] Shape, float[] Values)> RunVaeDecoder(OnnxSessionCache cache, ModelFolder folder, SafetensorsFile tensors, CancellationToken cancellationToken)
    {
        using var decoder = VaeDecoder.Open(cache, folder.VaeDecoderPath);
        var (latent, shape) = Floats(tensors, "latent_sample", 4);
        var image = decoder.Decode(latent, [.. shape.Select(d => (int)d)], cancellationToken);
        return [("sample", [.. image.Shape.Select(d => (long)d)], image.Values)];
    }

    /// <summary>The overrides of <paramref name="network"/> from each LoRA, matched against the model's networks (<paramref name="second"/>: SDXL's second text encoder, else null).</summary>
    private static IEnumerable<WeightOverride> LoraOverrides(string[] loras, IReadOnlyList<WeightInfo> weights, IReadOnlyList<WeightInfo>? second, LoraNetwork network)
    {
        var overrides = new List<WeightOverride>();
        foreach (var lora in loras)
        {
            var colon = lora.LastIndexOf(':');
            if (colon <= 0 || !float.TryParse(lora[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var strength))
            {
                throw new UsageException($"--lora {lora}: give FILE:STRENGTH, e.g. models/loras/x.safetensors:0.8");
            }

            var file = lora[..colon];
            var shapes = LoraWeightOverrides.Shapes(weights);
            var match = network == LoraNetwork.UNet
                ? LoraReader.Match(file, shapes, null)
                : LoraReader.Match(file, null, shapes, second is null ? null : LoraWeightOverrides.Shapes(second));
            var what = network switch { LoraNetwork.UNet => "UNet", LoraNetwork.TextEncoder => "text-encoder", _ => "second text-encoder" };
            Console.Error.WriteLine($"{Path.GetFileName(file)} ({match.Format}): {match.For(network).Count()} {what} weights matched");
            overrides.AddRange(LoraWeightOverrides.For(match, network, strength));
        }

        return overrides;
    }

    internal static (float[] Values, long[] Shape) Floats(SafetensorsFile file, string name, int? rank)
    {
        var tensor = Require(file, name);
        if (rank is { } r && tensor.Shape.Length != r)
        {
            throw new ArgumentException($"{file.Path}: tensor '{name}' has shape {tensor.ShapeText}; {r} dimensions expected.");
        }

        if (!SafetensorsDTypes.ConvertsToFloat32(tensor.DType))
        {
            throw new ArgumentException($"{file.Path}: tensor '{name}' is {SafetensorsDTypes.Name(tensor.DType)}; a float type expected.");
        }

        return (file.ReadFloat32(name), tensor.Shape);
    }

    private static (int[] Values, long[] Shape) Ints(SafetensorsFile file, string name)
    {
        var tensor = Require(file, name);
        if (tensor.Shape.Length != 2)
        {
            throw new ArgumentException($"{file.Path}: tensor '{name}' has shape {tensor.ShapeText}; [batch, tokens] expected.");
        }

        var bytes = file.GetBytes(tensor).ToArray();
        var values = tensor.DType switch
        {
            SafetensorsDType.Int64 => Enumerable.Range(0, bytes.Length / 8).Select(i => checked((int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8)))).ToArray(),
            SafetensorsDType.Int32 => Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4))).ToArray(),
            _ when SafetensorsDTypes.ConvertsToFloat32(tensor.DType) => file.ReadFloat32(name).Select(v => v == MathF.Round(v) && v is >= 0 and < 1 << 24
                ? (int)v : throw new ArgumentException($"{file.Path}: tensor '{name}' holds {v}, which is no token id.")).ToArray(),
            _ => throw new ArgumentException($"{file.Path}: tensor '{name}' is {SafetensorsDTypes.Name(tensor.DType)}; integer token ids (I64, I32, or whole floats) expected."),
        };
        return (values, tensor.Shape);
    }

    private static SafetensorsTensor Require(SafetensorsFile file, string name) => file.Tensors.TryGetValue(name, out var tensor)
        ? tensor
        : throw new ArgumentException($"{file.Path}: no tensor '{name}'; it holds {string.Join(", ", file.Tensors.Keys.Order(StringComparer.Ordinal).Take(10))}.");
}
