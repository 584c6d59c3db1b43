using System.Numerics;

namespace FlowDiffusion.Checkpoints.Lora;

/// <summary>
/// The block rotations of LyCORIS's OFT and BOFT as ComfyUI builds them: each stored block B gives the skew-symmetric
/// <c>Q = B − Bᵀ</c>, scaled down to norm alpha when alpha is positive and the Frobenius norm of all of Q (every block
/// together) plus 10⁻⁸ exceeds it, and the Cayley transform <c>R = (I + Q)(I − Q)⁻¹</c>, which is orthogonal. Rows of a
/// weight are mixed block by block, never through a dense out × out matrix.
/// </summary>
internal static class OrthogonalBlocks
{
    /// <summary>The rotations of <paramref name="count"/> blocks [size, size] in <paramref name="blocks"/>, row-major.</summary>
    public static float[] Cayley(float[] blocks, int count, int size, float constraint)
    {
        var q = new float[blocks.Length];
        double sum = 0;
        for (var k = 0; k < count; k++)
        {
            var offset = k * size * size;
            for (var i = 0; i < size; i++)
            {
                for (var j = 0; j < size; j++)
                {
                    var value = blocks[offset + (i * size) + j] - blocks[offset + (j * size) + i];
                    q[offset + (i * size) + j] = value;
                    sum += (double)value * value;
                }
            }
        }

        var norm = (float)Math.Sqrt(sum) + 1e-8f;
        if (constraint > 0 && norm > constraint)
        {
            for (var i = 0; i < q.Length; i++)
            {
                q[i] = q[i] * constraint / norm;
            }
        }

        var rotations = new float[blocks.Length];
        var plus = new double[size * size];
        var minus = new double[size * size];
        for (var k = 0; k < count; k++)
        {
            var offset = k * size * size;
            for (var i = 0; i < size * size; i++)
            {
                var identity = i / size == i % size ? 1.0 : 0.0;
                plus[i] = identity + q[offset + i];
                minus[i] = identity - q[offset + i];
            }

            var inverse = Invert(minus, size);
            for (var i = 0; i < size; i++)
            {
                for (var j = 0; j < size; j++)
                {
                    double value = 0;
                    for (var t = 0; t < size; t++)
                    {
                        value += plus[(i * size) + t] * inverse[(t * size) + j];
                    }

                    rotations[offset + (i * size) + j] = (float)value;
                }
            }
        }

        return rotations;
    }

    /// <summary>
    /// <c>target[rows[i]] += Σ_j matrix[i, j] · source[rows[j]]</c> for one block: <paramref name="matrix"/> [size, size] at
    /// <paramref name="offset"/>, rows of <paramref name="columns"/> values. Two target rows and four vectors of columns
    /// are accumulated in registers over the block's source rows, so each source load serves two multiply-adds.
    /// </summary>
    public static void MixRows(float[] source, float[] target, ReadOnlySpan<int> rows, float[] matrix, int offset, int size, int columns)
    {
        var width = Vector<float>.Count;
        var tile = 4 * width;
        var end = columns - (columns % tile);
        for (var i = 0; i < size; i += 2)
        {
            var pair = i + 1 < size;
            var first = rows[i] * columns;
            var second = pair ? rows[i + 1] * columns : first;
            for (var c = 0; c < end; c += tile)
            {
                Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
                for (var j = 0; j < size; j++)
                {
                    var from = (rows[j] * columns) + c;
                    var s0 = new Vector<float>(source, from);
                    var s1 = new Vector<float>(source, from + width);
                    var s2 = new Vector<float>(source, from + (2 * width));
                    var s3 = new Vector<float>(source, from + (3 * width));
                    var x = new Vector<float>(matrix[offset + (i * size) + j]);
                    (a0, a1, a2, a3) = (a0 + (x * s0), a1 + (x * s1), a2 + (x * s2), a3 + (x * s3));
                    if (pair)
                    {
                        var y = new Vector<float>(matrix[offset + ((i + 1) * size) + j]);
                        (b0, b1, b2, b3) = (b0 + (y * s0), b1 + (y * s1), b2 + (y * s2), b3 + (y * s3));
                    }
                }

                Add(target, first + c, width, a0, a1, a2, a3);
                if (pair)
                {
                    Add(target, second + c, width, b0, b1, b2, b3);
                }
            }

            for (var c = end; c < columns; c++)
            {
                float x = 0, y = 0;
                for (var j = 0; j < size; j++)
                {
                    var value = source[(rows[j] * columns) + c];
                    x += matrix[offset + (i * size) + j] * value;
                    y += pair ? matrix[offset + ((i + 1) * size) + j] * value : 0f;
                }

                target[first + c] += x;
                if (pair)
                {
                    target[second + c] += y;
                }
            }
        }
    }

    private static void Add(float[] target, int at, int width, Vector<float> v0, Vector<float> v1, Vector<float> v2, Vector<float> v3)
    {
        (new Vector<float>(target, at) + v0).CopyTo(target, at);
        (new Vector<float>(target, at + width) + v1).CopyTo(target, at + width);
        (new Vector<float>(target, at + (2 * width)) + v2).CopyTo(target, at + (2 * width));
        (new Vector<float>(target, at + (3 * width)) + v3).CopyTo(target, at + (3 * width));
    }

    // Gauss-Jordan with partial pivoting; I − Q is invertible for every skew-symmetric Q (its eigenvalues are 1 − iλ).
    private static double[] Invert(double[] matrix, int size)
    {
        var a = (double[])matrix.Clone();
        var inverse = new double[size * size];
        for (var i = 0; i < size; i++)
        {
            inverse[(i * size) + i] = 1;
        }

        for (var column = 0; column < size; column++)
        {
            var pivot = column;
            for (var r = column + 1; r < size; r++)
            {
                if (Math.Abs(a[(r * size) + column]) > Math.Abs(a[(pivot * size) + column]))
                {
                    pivot = r;
                }
            }

            if (pivot != column)
            {
                for (var c = 0; c < size; c++)
                {
                    (a[(pivot * size) + c], a[(column * size) + c]) = (a[(column * size) + c], a[(pivot * size) + c]);
                    (inverse[(pivot * size) + c], inverse[(column * size) + c]) = (inverse[(column * size) + c], inverse[(pivot * size) + c]);
                }
            }

            var scale = 1 / a[(column * size) + column];
            for (var c = 0; c < size; c++)
            {
                a[(column * size) + c] *= scale;
                inverse[(column * size) + c] *= scale;
            }

            for (var r = 0; r < size; r++)
            {
                var factor = a[(r * size) + column];
                if (r == column || factor == 0)
                {
                    continue;
                }

                for (var c = 0; c < size; c++)
                {
                    a[(r * size) + c] -= factor * a[(column * size) + c];
                    inverse[(r * size) + c] -= factor * inverse[(column * size) + c];
                }
            }
        }

        return inverse;
    }
}
