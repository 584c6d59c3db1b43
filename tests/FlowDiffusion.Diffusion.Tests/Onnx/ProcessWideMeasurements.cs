using Xunit;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

/// <summary>
/// Tests that measure the whole process — its threads, its resident set (the session cache charges a session the growth
/// of the resident set while it was created) — run alone, after the parallel ones, so other tests cannot move the figures.
/// </summary>
[CollectionDefinition(nameof(ProcessWideMeasurements), DisableParallelization = true)]
public sealed class ProcessWideMeasurements;
