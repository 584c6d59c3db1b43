namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// An ONNX model does not have the inputs or outputs its role (text encoder, UNet, VAE) needs: a missing name, an
/// unsupported element type or a wrong rank. The message names the file, what was expected and what the model declares.
/// </summary>
public sealed class ModelMismatchException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="modelPath">The model file.</param>
    /// <param name="message">What was expected and what the model declares.</param>
    public ModelMismatchException(string modelPath, string message)
        : base(message)
    {
        ModelPath = modelPath;
    }

    /// <summary>The model file that does not match.</summary>
    public string ModelPath { get; }
}
