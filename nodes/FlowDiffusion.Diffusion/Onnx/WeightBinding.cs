using System.Buffers;
using FlowDiffusion.Sdk.Models;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A source's weight overrides computed and bound to session options as initializers (ONNX Runtime's
/// <c>AddInitializer</c>). ONNX Runtime uses the bound memory in place, so it must outlive the session: dispose this
/// after the session.
/// </summary>
internal sealed class WeightBinding : IDisposable
{
    private readonly List<(OrtValue Value, MemoryHandle Pin)> _bound = [];

    private WeightBinding()
    {
    }

    /// <summary>The bytes the bound values hold.</summary>
    public long Bytes { get; private set; }

    /// <summary>Computes each overridden weight (overrides of one weight in order) and adds it to <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">An override names a missing weight or yields the wrong type or shape.</exception>
    public static WeightBinding Bind(OnnxModelSource source, SessionOptions options, CancellationToken cancellationToken = default)
    {
        var binding = new WeightBinding();
        if (source.Overrides.Count == 0)
        {
            return binding;
        }
        try
        {
            var file = OnnxModelFile.Read(source.ModelPath);
            foreach (var group in source.Overrides.GroupBy(o => o.Name, StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = group.Key;
                var declared = file.Initializer(name) ?? throw MissingWeight(source.ModelPath, name, file);
                WeightTensor? value = null;
                foreach (var weightOverride in group)
                {
                    var previous = value;
                    value = weightOverride.Apply(() => previous ?? file.ReadWeight(name), cancellationToken)
                        ?? throw new ArgumentException($"Override {weightOverride} of '{source.ModelPath}' returned no value.");
                }
                Check(source.ModelPath, declared, value!);
                binding.Add(name, value!, options);
            }
            return binding;
        }
        catch
        {
            binding.Dispose();
            throw;
        }
    }

    /// <summary>The error for an override naming a weight the graph lacks, with near names.</summary>
    public static ArgumentException MissingWeight(string modelPath, string name, OnnxModelFile file)
    {
        var near = file.Weights.Select(w => w.Name)
            .Where(n => n.Contains(name, StringComparison.OrdinalIgnoreCase) || name.Contains(n, StringComparison.OrdinalIgnoreCase))
            .Take(3).ToList();
        var hint = near.Count > 0 ? $" Similar names: {string.Join(", ", near)}." : $" It has {file.Weights.Count} weights.";
        return new ArgumentException($"A weight override names '{name}', which '{modelPath}' has no weight of.{hint}");
    }

    public void Dispose()
    {
        foreach (var (value, pin) in _bound)
        {
            value.Dispose();
            pin.Dispose();
        }
        _bound.Clear();
    }

    private static void Check(string modelPath, OnnxInitializer declared, WeightTensor value)
    {
        if (declared.ElementType != value.ElementType || !declared.Shape.SequenceEqual(value.Shape))
        {
            var declaredType = declared.ElementType?.ToString().ToLowerInvariant() ?? $"ONNX type {declared.DataType}";
            throw new ArgumentException(
                $"The override of weight '{declared.Name}' in '{modelPath}' is {value}; the graph declares {declaredType} [{string.Join(", ", declared.Shape)}].");
        }
    }

    private unsafe void Add(string name, WeightTensor value, SessionOptions options)
    {
        var pin = value.Data.Pin();
        try
        {
            var type = value.ElementType switch
            {
                WeightElementType.Float32 => TensorElementType.Float,
                WeightElementType.Float16 => TensorElementType.Float16,
                _ => TensorElementType.BFloat16,
            };
            var ortValue = OrtValue.CreateTensorValueWithData(
                OrtMemoryInfo.DefaultInstance, type, [.. value.Shape], (IntPtr)pin.Pointer, value.Data.Length);
            _bound.Add((ortValue, pin));
            Bytes += value.Data.Length;
            options.AddInitializer(name, ortValue);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }
}
