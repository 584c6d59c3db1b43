namespace FlowDiffusion.Cli.Bench;

/// <summary>A MatMul yardstick's measurement.</summary>
/// <param name="Best">FLOP/s of the fastest run: the rate the MatMul reaches.</param>
/// <param name="Sustained">FLOP/s over the whole window.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="Seconds">The window's length.</param>
internal sealed record MatMulRate(double Best, double Sustained, int Runs, double Seconds);
