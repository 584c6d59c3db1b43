using FlowDiffusion.Engine.Workflows;
using FlowDiffusion.Server.Runs;

namespace FlowDiffusion.Server.Tests;

public sealed class InputValuesTests
{
    [Fact]
    public void Whole_json_numbers_stay_integers_so_int_inputs_accept_them()
    {
        var values = InputValues.FromJson("""{"width": 64, "cfg": 7.5, "seed": -3, "big": 1e300}""");

        Assert.IsType<long>(values["width"]);
        Assert.Equal(64L, values["width"]);
        Assert.Equal(-3L, values["seed"]);
        Assert.IsType<double>(values["cfg"]);
        Assert.Equal(7.5, values["cfg"]);
        Assert.IsType<double>(values["big"]);
    }
}
