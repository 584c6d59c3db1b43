using System.Runtime.CompilerServices;
using FlowDiffusion.Diffusion.Onnx;

namespace FlowDiffusion.Diffusion.Tests.Onnx;

// The hosts create ONNX Runtime's environment through FlowDiffusion before anything else touches ONNX Runtime; tests that
// build SessionOptions by hand would otherwise create it first (without the shared pool) whenever they happen to run first.
internal static class OnnxEnvironmentFirst
{
#pragma warning disable CA2255 // A test assembly, not a library: its start stands in for a host's.
    [ModuleInitializer]
    internal static void Create()
    {
        // This process opts into the shared pool, which OnnxEnvironmentTests prove; hosts do so by the same variable.
        Environment.SetEnvironmentVariable(OnnxEnvironment.PoolVariable, "shared");
        _ = OnnxEnvironment.Instance;
    }
#pragma warning restore CA2255
}
