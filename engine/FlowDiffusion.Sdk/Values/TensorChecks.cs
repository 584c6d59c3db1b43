namespace FlowDiffusion.Sdk.Values;

/// <summary>Argument checks shared by the tensor-shaped value types.</summary>
internal static class TensorChecks
{
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }

    public static void Length(int actual, long expected, string what)
    {
        if (actual != expected)
            throw new ArgumentException($"{what} holds {actual} values but its shape needs {expected}.");
    }
}
