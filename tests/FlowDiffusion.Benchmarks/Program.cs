using BenchmarkDotNet.Running;
using FlowDiffusion.Benchmarks;

// Run all: dotnet run -c Release --project tests/FlowDiffusion.Benchmarks -- --filter '*' --job short
// End-to-end txt2img against ONNX Runtime time: dotnet run -c Release --project tests/FlowDiffusion.Benchmarks -- txt2img 512 20 5
// The same for img2img (strength 0.75 of the steps, the VAE encoder too): ... -- img2img 512 20 5
if (args is ["txt2img" or "img2img", ..]) return await Txt2ImgPipelineBenchmark.RunAsync(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
