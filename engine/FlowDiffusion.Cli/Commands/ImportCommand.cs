using System.CommandLine;
using System.Diagnostics;
using FlowDiffusion.Checkpoints;
using FlowDiffusion.Checkpoints.Architecture;
using FlowDiffusion.Checkpoints.Export;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion import</c>: a <c>.safetensors</c> SD 1.x checkpoint (or diffusers folder) written once as a diffusers-ONNX folder.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "The model folder to write (must not exist), e.g. models/my-model.", Required = true, HelpName = "DIR" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = $"A CLIP tokenizer folder (vocab.json + merges.txt); default {TokenizerLocator.DefaultFolder}, then the Hugging Face cache.", HelpName = "DIR" };
        var prediction = new Option<string>("--prediction-type") { Description = "What the UNet predicts; auto reads ComfyUI's v_pred (and ztsnr) markers, else epsilon.", DefaultValueFactory = _ => "auto" };
        prediction.AcceptOnlyFromAmong("auto", "epsilon", "v_prediction");
        var file = new Argument<string>("FILE") { Description = "An SD 1.x or SDXL checkpoint: a .safetensors file (LDM/SGM layout) or a diffusers folder with .safetensors weights." };
        var command = new Command("import", "Write an SD 1.x .safetensors checkpoint as a diffusers-ONNX model folder.") { output, tokenizer, prediction, file };
        CommandAction.Set(command, (parse, _) =>
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var tokenizerFolder = TokenizerLocator.Find(parse.GetValue(tokenizer), Environment.CurrentDirectory);
                var sampling = CheckpointSampling.Of(parse.GetValue(file)!, parse.GetValue(prediction)!);
                if (SdxlCheckpoint.Detect(parse.GetValue(file)!) == ModelFamily.StableDiffusionXL)
                {
                    using var sdxl = SdxlCheckpoint.Open(parse.GetValue(file)!);
                    SdxlOnnxFolder.Write(sdxl, parse.GetValue(output)!, tokenizerFolder, sampling.PredictionType, zeroSnr: sampling.ZeroSnr);
                    Console.WriteLine($"Wrote {parse.GetValue(output)} in {clock.Elapsed.TotalSeconds:F1} s: SDXL, UNet widths {string.Join("/", sdxl.UNet!.LevelChannels)}, " +
                        $"{SdxlVariant.Describe(sdxl.UNet)}, context {sdxl.UNet.ContextWidth}; text encoders {sdxl.TextEncoder!.Width} + {sdxl.TextEncoder2!.Width} wide; tokenizer from {tokenizerFolder}; predicts {sampling.PredictionType}{(sampling.ZeroSnr ? " with zero terminal SNR" : "")}.");
                    return Task.FromResult(ExitCodes.Ok);
                }

                using var checkpoint = Sd1Checkpoint.Open(parse.GetValue(file)!);
                DiffusersOnnxFolder.Write(checkpoint, parse.GetValue(output)!, tokenizerFolder, sampling.PredictionType, zeroSnr: sampling.ZeroSnr);
                var unet = checkpoint.UNet!;
                Console.WriteLine($"Wrote {parse.GetValue(output)} in {clock.Elapsed.TotalSeconds:F1} s: {(checkpoint.Family == ModelFamily.StableDiffusion2 ? "SD 2.x" : "SD 1.x")}, UNet {unet.InChannels} in, widths {string.Join("/", unet.LevelChannels)}, " +
                    $"context {unet.ContextWidth}; text encoder width {checkpoint.TextEncoder!.Width}, {checkpoint.TextEncoder.Layers} layers; tokenizer from {tokenizerFolder}; predicts {sampling.PredictionType}{(sampling.ZeroSnr ? " with zero terminal SNR" : "")}.");
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or SafetensorsException or CheckpointException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(ExitCodes.Failed);
            }
        });
        return command;
    }
}
