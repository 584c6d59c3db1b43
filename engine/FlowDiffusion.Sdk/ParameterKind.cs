namespace FlowDiffusion.Sdk;

/// <summary>A hint that picks the editor widget for a parameter beyond what its type says.</summary>
public enum ParameterKind
{
    /// <summary>The plain widget for the type (number box, text box, check box, drop-down for choices).</summary>
    Default,

    /// <summary>A random seed: a number with fixed / increment / decrement / randomize controls in the editor.</summary>
    Seed,

    /// <summary>A model folder, picked from the configured models folder.</summary>
    ModelFolder,

    /// <summary>An image file, with upload and thumbnail.</summary>
    ImageFile,

    /// <summary>A mask image file, with upload and thumbnail.</summary>
    MaskFile,

    /// <summary>A file or folder path written by the node.</summary>
    OutputPath,
}
