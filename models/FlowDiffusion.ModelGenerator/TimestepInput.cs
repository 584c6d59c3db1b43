namespace FlowDiffusion.ModelGenerator;

/// <summary>How a UNet export declares its <c>timestep</c> input; exporters differ (DESIGN §5).</summary>
public enum TimestepInput
{
    /// <summary>int64 [batch], as older diffusers exports.</summary>
    Int64Vector,

    /// <summary>float32 [batch]; may be fractional.</summary>
    Float32Vector,

    /// <summary>float16 [batch], as fp16 exports.</summary>
    Float16Vector,

    /// <summary>float32 scalar (rank 0), as optimum ≥ 1.24 exports.</summary>
    Float32Scalar,
}
