namespace FlowDiffusion.Sdk.Models;

/// <summary>
/// A model handle that is a description (files, weight overrides, provider options) rather than open sessions, so a
/// node can derive a new handle with changed weights — <c>lora.apply</c>: model in, model out — while the input
/// handle stays as it was. Implemented by the model handles that flow on edges (UNet, text encoder).
/// </summary>
/// <typeparam name="TModel">The handle type a derived handle has, e.g. <c>IUNetModel</c>.</typeparam>
/// <example>
/// <code>
/// if (Unet is not IOverridableModel&lt;IUNetModel&gt; model)
///     throw new InvalidOperationException("this UNet cannot take weight overrides");
/// var extra = model.Weights.Where(w => w.Name.Contains("attn")).Select(w => MyDelta(w, strength));
/// Result = model.WithOverrides(extra);
/// </code>
/// </example>
public interface IOverridableModel<out TModel>
{
    /// <summary>The weights the model's graph declares, for mapping a LoRA's or checkpoint's keys onto them.</summary>
    IReadOnlyList<WeightInfo> Weights { get; }

    /// <summary>The overrides this handle already applies (<see cref="WeightOverrides.None"/> for the plain model).</summary>
    WeightOverrides Overrides { get; }

    /// <summary>
    /// A new handle with <paramref name="overrides"/> applied after this handle's own; this handle is unchanged. The
    /// session is created (and cached by the overrides' identity) when the new handle is first evaluated.
    /// </summary>
    /// <param name="overrides">The overrides to add; each must name a weight in <see cref="Weights"/>.</param>
    /// <exception cref="ArgumentException">An override names a weight the graph does not have.</exception>
    TModel WithOverrides(IEnumerable<WeightOverride> overrides);
}
