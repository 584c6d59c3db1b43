using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project tests/FlowDiffusion.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
