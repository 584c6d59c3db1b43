using FlowDiffusion.Cli.Bench;

namespace FlowDiffusion.Cli.Tests;

public sealed class OrtProfileFlopsTests
{
    [Fact]
    public void A_convolution_counts_two_flops_per_multiply_add_of_its_kernel_over_every_output()
    {
        // SD's conv_in at 512², guided: [2, 4, 64, 64] * [320, 4, 3, 3] → [2, 320, 64, 64]: 2 · 2·320·64·64 · 4·3·3.
        var flops = OrtProfileFlops.Operation("FusedConv", [[2, 4, 64, 64], [320, 4, 3, 3], [320]], [2, 320, 64, 64]);

        Assert.Equal(2.0 * 2 * 320 * 64 * 64 * 4 * 3 * 3, flops);
    }

    [Fact]
    public void A_matrix_product_counts_its_inner_dimension_batched_or_not()
    {
        Assert.Equal(2.0 * 2 * 8 * 4096 * 4096 * 40, OrtProfileFlops.Operation("MatMul", [[2, 8, 4096, 40], [2, 8, 40, 4096]], [2, 8, 4096, 4096]));
        Assert.Equal(2.0 * 8192 * 320 * 768, OrtProfileFlops.Operation("FusedMatMul", [[8192, 768], [768, 320]], [8192, 320]));
        Assert.Equal(2.0 * 2 * 1280 * 320, OrtProfileFlops.Operation("Gemm", [[2, 320], [320, 1280], [1280]], [2, 1280]));
        Assert.Equal(0, OrtProfileFlops.Operation("Add", [[2, 320], [2, 320]], [2, 320]));
    }

    [Fact]
    public void A_profile_gives_the_flops_per_run_of_its_kernels_and_counts_its_runs()
    {
        var path = Path.Combine(Path.GetTempPath(), "flowdiffusion-profile-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            File.WriteAllText(path, """
                [
                  {"cat": "Session", "name": "model_run", "dur": 10},
                  {"cat": "Node", "name": "mm_fence_before", "args": {"op_name": "MatMul"}},
                  {"cat": "Node", "name": "mm_kernel_time", "args": {"op_name": "MatMul", "input_type_shape": [{"float": [4, 3]}, {"float": [3, 5]}], "output_type_shape": [{"float": [4, 5]}]}},
                  {"cat": "Session", "name": "model_run", "dur": 10},
                  {"cat": "Node", "name": "mm_kernel_time", "args": {"op_name": "MatMul", "input_type_shape": [{"float": [4, 3]}, {"float": [3, 5]}], "output_type_shape": [{"float": [4, 5]}]}},
                  {"cat": "Node", "name": "relu_kernel_time", "args": {"op_name": "Relu", "input_type_shape": [{"float": [4, 5]}], "output_type_shape": [{"float": [4, 5]}]}}
                ]
                """);

            var (flops, runs) = OrtProfileFlops.Read(path);

            Assert.Equal(2, runs);
            Assert.Equal(2.0 * 4 * 5 * 3, flops);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
