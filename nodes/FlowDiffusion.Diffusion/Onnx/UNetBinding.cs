using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace FlowDiffusion.Diffusion.Onnx;

/// <summary>
/// A UNet's pinned step buffers bound to one session with ONNX Runtime's I/O binding, for GPU providers. Binding an
/// input copies it to the device that consumes it at bind time, and that device copy serves every later run until the
/// input is bound again; so the conditioning (<c>encoder_hidden_states</c>, SDXL's <c>text_embeds</c> and
/// <c>time_ids</c>, an LCM UNet's <c>timestep_cond</c>) is bound only when its values change, not copied on every step.
/// </summary>
/// <remarks>
/// <para>
/// The latents still make a host round trip each step: the samplers' arithmetic runs on the host, so <c>sample</c> and
/// <c>timestep</c> are written and bound every step, and the output is bound to the pinned host tensor, into which
/// ONNX Runtime copies the prediction once per run.
/// </para>
/// <para>
/// A binding belongs to one <see cref="InferenceSession"/>. The session cache may unload a session between steps and
/// create a new one, so <see cref="Bind"/> given a session other than the last one makes a new binding and binds
/// everything again. A binding released after its session is safe: ONNX Runtime's device copies hold their allocator.
/// </para>
/// <para>
/// On the CPU, where ONNX Runtime binds a host tensor by reference and copies nothing, <c>copyOnBind</c> makes binding a
/// conditioning input bind a copy taken then, as a device would hold one: so tests on the CPU see what a GPU run would
/// use, and a change written but not bound again shows in the prediction.
/// </para>
/// </remarks>
internal sealed class UNetBinding : IDisposable
{
    private readonly Input[] _perStep;
    private readonly Conditioning[] _conditioning;
    private readonly string _outputName;
    private readonly PinnedTensor _output;
    private readonly bool _copyOnBind;
    private InferenceSession? _session;
    private OrtIoBinding? _binding;

    /// <param name="perStep">The inputs bound on every run (sample and timestep), by input name.</param>
    /// <param name="conditioning">The inputs bound when their values change, by input name.</param>
    /// <param name="outputName">The output's name.</param>
    /// <param name="output">The pinned host tensor the output is copied into.</param>
    /// <param name="copyOnBind">Bind copies of the conditioning tensors taken at bind time (for the CPU provider).</param>
    public UNetBinding(IEnumerable<(string Name, PinnedTensor Tensor)> perStep, IEnumerable<(string Name, PinnedTensor Tensor)> conditioning, string outputName, PinnedTensor output, bool copyOnBind)
    {
        _copyOnBind = copyOnBind;
        _perStep = [.. perStep.Select(i => new Input(i.Name, i.Tensor))];
        _conditioning = [.. conditioning.Select(i => new Conditioning(i.Name, i.Tensor))];
        _outputName = outputName;
        _output = output;
    }

    /// <summary>
    /// Writes a conditioning input into its pinned tensor when <paramref name="values"/> differ, bit for bit, from the
    /// values last written (so an fp16 export compares the float32 sources, not their rounding), and marks it for
    /// binding then.
    /// </summary>
    /// <param name="name">The input's name.</param>
    /// <param name="values">The float32 values, as many as the tensor holds.</param>
    public void WriteConditioning(string name, ReadOnlySpan<float> values)
    {
        var input = Array.Find(_conditioning, c => c.Name == name)
            ?? throw new ArgumentException($"'{name}' is not a conditioning input of this binding.", nameof(name));
        input.Write(values);
    }

    /// <summary>
    /// Makes the binding ready for a run on <paramref name="session"/>: binds what changed (everything for a session
    /// other than the last one) and the per-step inputs.
    /// </summary>
    /// <param name="session">The session the run leases.</param>
    /// <param name="conditioningBound">Whether any conditioning input was bound (copied to the device) now.</param>
    public OrtIoBinding Bind(InferenceSession session, out bool conditioningBound)
    {
        if (_binding is null || !ReferenceEquals(session, _session))
        {
            _binding?.Dispose();
            _binding = null;
            _session = null;
            foreach (var input in _conditioning)
            {
                input.Bound = false;
            }
            var binding = session.CreateIoBinding();
            try
            {
                binding.BindOutput(_outputName, _output.Value);
            }
            catch
            {
                binding.Dispose();
                throw;
            }
            _binding = binding;
            _session = session;
        }

        conditioningBound = false;
        foreach (var input in _conditioning)
        {
            if (!input.Bound)
            {
                if (_copyOnBind)
                {
                    // The binding refers to the copy's memory: the copy it replaces is released only once unbound.
                    var copy = input.Tensor.Copy();
                    try
                    {
                        _binding.BindInput(input.Name, copy.Value);
                    }
                    catch
                    {
                        copy.Dispose();
                        throw;
                    }
                    input.Bind(copy);
                }
                else
                {
                    _binding.BindInput(input.Name, input.Tensor.Value);
                }
                input.Bound = true;
                conditioningBound = true;
            }
        }
        foreach (var input in _perStep)
        {
            _binding.BindInput(input.Name, input.Tensor.Value);
        }
        return _binding;
    }

    /// <summary>Releases the binding (and its device copies); the pinned tensors belong to the caller.</summary>
    public void Dispose()
    {
        _binding?.Dispose();
        _binding = null;
        _session = null;
        foreach (var input in _conditioning)
        {
            input.Bind(null);
        }
    }

    private class Input(string name, PinnedTensor tensor)
    {
        public string Name { get; } = name;

        public PinnedTensor Tensor { get; } = tensor;
    }

    // A conditioning input with the float32 values last written into its tensor.
    private sealed class Conditioning(string name, PinnedTensor tensor) : Input(name, tensor)
    {
        private float[]? _written;
        private PinnedTensor? _boundCopy;

        public bool Bound { get; set; }

        // Keeps the copy the binding now refers to (copyOnBind), releasing the one before.
        public void Bind(PinnedTensor? copy)
        {
            _boundCopy?.Dispose();
            _boundCopy = copy;
        }

        public void Write(ReadOnlySpan<float> values)
        {
            if (_written is not null && MemoryMarshal.Cast<float, int>(values).SequenceEqual(MemoryMarshal.Cast<float, int>(_written.AsSpan())))
            {
                return;
            }
            Bound = false;
            Tensor.Write(values);
            if (_written is null || _written.Length != values.Length)
            {
                _written = new float[values.Length];
            }
            values.CopyTo(_written);
        }
    }
}
