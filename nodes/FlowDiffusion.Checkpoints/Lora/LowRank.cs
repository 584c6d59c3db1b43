using System.Numerics.Tensors;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>The matrix products LoRA-family factors are built from.</summary>
internal static class LowRank
{
    /// <summary><c>left [rows, inner] · right [inner, columns]</c>, row-major.</summary>
    public static float[] Product(float[] left, float[] right, int rows, int inner, int columns, CancellationToken cancellationToken = default)
    {
        var product = new float[checked(rows * columns)];
        for (var o = 0; o < rows; o++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = product.AsSpan(o * columns, columns);
            for (var r = 0; r < inner; r++)
            {
                var coefficient = left[(o * inner) + r];
                if (coefficient != 0f)
                {
                    TensorPrimitives.MultiplyAdd(right.AsSpan(r * columns, columns), coefficient, row, row);
                }
            }
        }

        return product;
    }

    /// <summary>
    /// LyCORIS's Tucker rebuild <c>einsum("i j k l, j r, i p -> p r k l", t, b, a)</c>: from a core <paramref name="t"/>
    /// [ra, rb, kernel], <paramref name="a"/> [ra, rows] and <paramref name="b"/> [rb, inputs], the kernel
    /// [rows, inputs, kernel] with <c>W[p, q, k] = Σ_i Σ_j t[i, j, k] · b[j, q] · a[i, p]</c>.
    /// </summary>
    public static float[] Tucker(float[] t, float[] a, float[] b, int ra, int rb, int rows, int inputs, int kernel, CancellationToken cancellationToken = default)
    {
        // temp[i, q, k] = Σ_j t[i, j, k] · b[j, q]
        var temp = new float[checked(ra * inputs * kernel)];
        for (var i = 0; i < ra; i++)
        {
            for (var j = 0; j < rb; j++)
            {
                var core = t.AsSpan(((i * rb) + j) * kernel, kernel);
                for (var q = 0; q < inputs; q++)
                {
                    var coefficient = b[(j * inputs) + q];
                    if (coefficient != 0f)
                    {
                        var target = temp.AsSpan(((i * inputs) + q) * kernel, kernel);
                        TensorPrimitives.MultiplyAdd(core, coefficient, target, target);
                    }
                }
            }
        }

        // W[p, (q, k)] = Σ_i a[i, p] · temp[i, (q, k)]
        return Product(Transpose(a, ra, rows), temp, rows, ra, inputs * kernel, cancellationToken);
    }

    /// <summary><paramref name="matrix"/> [rows, columns] transposed.</summary>
    public static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var transposed = new float[matrix.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                transposed[(c * rows) + r] = matrix[(r * columns) + c];
            }
        }

        return transposed;
    }

    /// <summary>The Kronecker product of <paramref name="left"/> [a, b] and <paramref name="right"/> [c, d]: [a·c, b·d].</summary>
    public static float[] Kronecker(float[] left, int a, int b, float[] right, int c, int d, CancellationToken cancellationToken = default)
    {
        var columns = b * d;
        var product = new float[checked(a * c * columns)];
        for (var i1 = 0; i1 < a; i1++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i2 = 0; i2 < c; i2++)
            {
                var row = product.AsSpan(((i1 * c) + i2) * columns, columns);
                var source = right.AsSpan(i2 * d, d);
                for (var j1 = 0; j1 < b; j1++)
                {
                    TensorPrimitives.Multiply(source, left[(i1 * b) + j1], row.Slice(j1 * d, d));
                }
            }
        }

        return product;
    }
}
