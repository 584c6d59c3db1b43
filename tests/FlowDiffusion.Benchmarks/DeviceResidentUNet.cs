using System.Diagnostics;
using FlowDiffusion.Diffusion.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Benchmarks;

/// <summary>
/// The UNet alone with its inputs and its output kept on the device: every input bound once (binding copies it to the
/// device then), the output bound to device memory, then one call after another. That is the step time at best of a
/// sampler whose latents never leave the device; the engine's step, whose latents make a host round trip every step
/// (the samplers' arithmetic runs on the host, docs/model-handles.md), is held against it. On the CPU provider the
/// device is host memory and this is the UNet's own time.
/// </summary>
internal static class DeviceResidentUNet
{
    /// <summary>Seconds per UNet call (batch 2: CFG's two halves) of <paramref name="modelFolder"/>'s unet/model.onnx, or why not measured.</summary>
    /// <param name="modelFolder">A diffusers-ONNX folder.</param>
    /// <param name="size">The image side in pixels.</param>
    /// <param name="provider">model.load's provider (cpu, cuda …).</param>
    /// <param name="providerOptions">Its provider options, or null.</param>
    /// <param name="calls">The timed calls, after two untimed ones.</param>
    public static (double? Seconds, string Note) Measure(string modelFolder, int size, string provider, string? providerOptions, int calls)
    {
        var path = Path.Combine(modelFolder, "unet", "model.onnx");
        if (!File.Exists(path)) return (null, $"no {path} (the UNet alone is timed for diffusers-ONNX folders)");
        var settings = OnnxSessionOptions.Parse(provider, providerOptions);
        using var options = settings.CreateSessionOptions();
        using var session = new InferenceSession(path, options);
        var values = new List<OrtValue>();
        try
        {
            using var binding = session.CreateIoBinding();
            foreach (var (name, meta) in session.InputMetadata)
            {
                if (Shape(name, meta, size / 8) is not { } shape) return (null, $"input '{name}' has a shape this timing does not fill in ({string.Join('×', meta.Dimensions)})");
                if (Zeros(meta.ElementDataType, shape) is not { } value) return (null, $"input '{name}' is {meta.ElementDataType}, which this timing does not fill in");
                values.Add(value);
                binding.BindInput(name, value);
            }
            // ONNX Runtime's names for the memory each provider computes in.
            var memory = settings.Provider.ToLowerInvariant() switch
            {
                "cpu" => "Cpu",
                "cuda" or "tensorrt" => "Cuda",
                "directml" => "DML",
                _ => null,
            };
            if (memory is null) return (null, $"the device memory of provider '{settings.Provider}' is not known to this timing");
            using var device = new OrtMemoryInfo(memory, OrtAllocatorType.DeviceAllocator, memory == "Cpu" ? 0 : settings.DeviceId, OrtMemType.Default);
            binding.BindOutputToDevice(session.OutputNames[0], device);
            binding.SynchronizeBoundInputs();
            using var run = new RunOptions();
            for (var i = 0; i < 2; i++) session.RunWithBinding(run, binding);
            binding.SynchronizeBoundOutputs();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < calls; i++) session.RunWithBinding(run, binding);
            binding.SynchronizeBoundOutputs();
            return (clock.Elapsed.TotalSeconds / calls, $"{calls} calls");
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    // Batch 2 (CFG), the latent side for the sample, 77 tokens for the text states; a fixed size left as it is.
    private static long[]? Shape(string name, NodeMetadata meta, int side)
    {
        var dims = meta.Dimensions;
        if (name == "timestep" && dims.Length == 0) return [];
        var shape = new long[dims.Length];
        for (var i = 0; i < dims.Length; i++)
        {
            shape[i] = dims[i] > 0 ? dims[i]
                : i == 0 ? 2
                : name == "sample" && i == 1 ? 4
                : name == "sample" && i >= 2 ? side
                : name == "encoder_hidden_states" && i == 1 ? 77
                : name == "time_ids" && i == 1 ? 6
                : -1;
            if (shape[i] < 0) return null;
        }
        return shape;
    }

    private static OrtValue? Zeros(TensorElementType type, long[] shape)
    {
        var count = checked((int)shape.Aggregate(1L, (a, b) => a * b));
        return type switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(new float[count], shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(new Float16[count], shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(new long[count], shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(new int[count], shape),
            _ => null,
        };
    }
}
