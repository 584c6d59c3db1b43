namespace FlowDiffusion.Imaging.Filters;

/// <summary>
/// Grey morphology with a flat k × k square, as kornia.morphology computes it for ComfyUI's Morphology node (an all-ones
/// kernel, the default origin [k / 2, k / 2] and kornia's default "geodesic" border, which leaves pixels outside the
/// image out of every window). Erosion takes the minimum of the window reaching k / 2 pixels up and left and
/// k − 1 − k / 2 down and right; dilation reflects the kernel (Minkowski), so its window reaches k − 1 − k / 2 up and
/// left and k / 2 down and right. For odd k both are the centred k × k square. Opening, closing, the gradient and the
/// hats are composed of these as kornia composes them, in float32.
/// </summary>
public static class KorniaMorphology
{
    /// <summary>The operations, as ComfyUI names them.</summary>
    public static readonly string[] Operations = ["erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat"];

    /// <summary>Applies <paramref name="operation"/> to every plane of <paramref name="planes"/>.</summary>
    /// <param name="planes">Planes of <paramref name="height"/> × <paramref name="width"/> values, one after another.</param>
    /// <param name="height">A plane's height.</param>
    /// <param name="width">A plane's width.</param>
    /// <param name="operation">One of <see cref="Operations"/>.</param>
    /// <param name="kernelSize">The square's side, 1 or more.</param>
    /// <param name="cancellationToken">Stops the work between rows and columns.</param>
    /// <returns>The result, planes as the input.</returns>
    /// <exception cref="ArgumentException">An unknown operation, a kernel size below 1 or lengths that do not match.</exception>
    public static float[] Apply(ReadOnlySpan<float> planes, int height, int width, string operation, int kernelSize, CancellationToken cancellationToken = default)
    {
        var plane = height * width;
        if (height <= 0 || width <= 0 || planes.Length % plane != 0)
            throw new ArgumentException($"expected planes of {height} × {width} values, got {planes.Length}", nameof(planes));
        if (kernelSize < 1) throw new ArgumentException($"kernel size must be 1 or more; got {kernelSize}", nameof(kernelSize));
        if (!Operations.Contains(operation))
            throw new ArgumentException($"operation must be one of {string.Join(", ", Operations)}; got '{operation}'", nameof(operation));
        var result = planes.ToArray();
        for (var start = 0; start < result.Length; start += plane)
        {
            var item = result.AsSpan(start, plane);
            switch (operation)
            {
                case "erode":
                    Erode(item, height, width, kernelSize, cancellationToken);
                    break;
                case "dilate":
                    Dilate(item, height, width, kernelSize, cancellationToken);
                    break;
                case "open":
                    Erode(item, height, width, kernelSize, cancellationToken);
                    Dilate(item, height, width, kernelSize, cancellationToken);
                    break;
                case "close":
                    Dilate(item, height, width, kernelSize, cancellationToken);
                    Erode(item, height, width, kernelSize, cancellationToken);
                    break;
                case "gradient":
                    var eroded = item.ToArray();
                    Erode(eroded, height, width, kernelSize, cancellationToken);
                    Dilate(item, height, width, kernelSize, cancellationToken);
                    for (var i = 0; i < plane; i++) item[i] -= eroded[i];
                    break;
                case "top_hat":
                    var opened = item.ToArray();
                    Erode(opened, height, width, kernelSize, cancellationToken);
                    Dilate(opened, height, width, kernelSize, cancellationToken);
                    for (var i = 0; i < plane; i++) item[i] -= opened[i];
                    break;
                default:
                    var closed = item.ToArray();
                    Dilate(closed, height, width, kernelSize, cancellationToken);
                    Erode(closed, height, width, kernelSize, cancellationToken);
                    for (var i = 0; i < plane; i++) item[i] = closed[i] - item[i];
                    break;
            }
        }

        return result;
    }

    private static void Erode(Span<float> plane, int height, int width, int k, CancellationToken cancellationToken) =>
        RunningExtreme.Box(plane, height, width, k / 2, k - 1 - k / 2, maximum: false, cancellationToken);

    private static void Dilate(Span<float> plane, int height, int width, int k, CancellationToken cancellationToken) =>
        RunningExtreme.Box(plane, height, width, k - 1 - k / 2, k / 2, maximum: true, cancellationToken);
}
