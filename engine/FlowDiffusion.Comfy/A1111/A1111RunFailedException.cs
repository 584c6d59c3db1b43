namespace FlowDiffusion.Comfy.A1111;

/// <summary>A request that was accepted but whose run failed (a model that cannot load, say): A1111's 500 with the engine's message.</summary>
public sealed class A1111RunFailedException(string message) : Exception(message);
