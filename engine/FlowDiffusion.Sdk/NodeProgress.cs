namespace FlowDiffusion.Sdk;

/// <summary>How far a node is: a step count where the node has steps, otherwise a fraction.</summary>
/// <param name="Fraction">Progress in [0, 1].</param>
/// <param name="Message">An optional short status line.</param>
/// <param name="Step">The current step (1-based), or 0 when the node has no steps.</param>
/// <param name="TotalSteps">The number of steps, or 0 when the node has no steps.</param>
public sealed record NodeProgress(double Fraction, string? Message = null, int Step = 0, int TotalSteps = 0)
{
    /// <summary>Progress of step <paramref name="step"/> of <paramref name="total"/>.</summary>
    /// <param name="step">The finished step, 1-based.</param>
    /// <param name="total">The number of steps.</param>
    /// <param name="message">An optional status line.</param>
    public static NodeProgress OfSteps(int step, int total, string? message = null) =>
        new(total == 0 ? 1 : (double)step / total, message, step, total);
}
