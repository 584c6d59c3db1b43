namespace FlowDiffusion.Engine.Workflows;

/// <summary>
/// What the editor does to a seed around each run (ComfyUI's "control after generate"). Saved in the editor section as
/// one list per mode (<c>randomize:</c>, <c>increment:</c>, <c>decrement:</c>); runs outside the editor use the value as written.
/// </summary>
public enum SeedControl
{
    /// <summary>Every run uses the seed as it is; the default, and not written.</summary>
    Fixed,

    /// <summary>Each run uses the seed shown, then the seed goes up by one, wrapping from its maximum to its minimum.</summary>
    Increment,

    /// <summary>Each run uses the seed shown, then the seed goes down by one, wrapping from its minimum to its maximum.</summary>
    Decrement,

    /// <summary>Before each run the seed gets a new random value, so the seed shown is the one the last run used.</summary>
    Randomize,
}
