using FlowDiffusion.Tests.Shared;

namespace FlowDiffusion.Server.Tests;

/// <summary>
/// The control and resolution workflows through the HTTP API: each shipped workflow submitted by name with its inputs
/// (POST /api/runs), waited for, and its picture fetched from the run's output URL and checked (size, closed-form
/// colours on analytic-sd, and for the tiny checkpoints' noise that switching the feature off changes the picture);
/// the preprocessors as posted YAML, checked against their input.
/// </summary>
public sealed class ControlWorkflowApiTests(ControlWorkflows workflows) : IClassFixture<ControlWorkflows>, IDisposable
{
    private readonly TempFolder _folder = new();

    public static TheoryData<string> Workflows() => new(ControlWorkflows.Names);

    public static TheoryData<string> Preprocessors() => new(ControlWorkflows.Preprocessors.Select(p => p.Node));

    public void Dispose() => _folder.Dispose();

    [Theory]
    [MemberData(nameof(Workflows))]
    public async Task A_shipped_workflow_posted_by_name_runs_and_its_output_url_serves_the_expected_picture(string workflow)
    {
        var run = workflows[workflow];
        await using var host = await StartAsync();

        var picture = await PictureAsync(host, new { workflow, inputs = run.Inputs });

        run.Verify(picture);
        if (run.Off is { } off)
        {
            var inputs = new Dictionary<string, string>(run.Inputs) { [off.Name] = off.Value };
            var plain = await PictureAsync(host, new { workflow, inputs });
            Assert.True(picture.MaxDifference(plain) > 0.01, $"{off.Name} = {off.Value} drew the same picture: the feature did nothing");
        }
    }

    [Theory]
    [MemberData(nameof(Preprocessors))]
    public async Task A_preprocessor_posted_as_yaml_returns_its_closed_form_result(string node)
    {
        var preprocessor = ControlWorkflows.Preprocessors.Single(p => p.Node == node);
        await using var host = await StartAsync();
        var id = await host.SubmitAsync(new { yaml = preprocessor.Yaml("workflows/assets/landscape.png") });
        var run = await host.WaitAsync(id, TimeSpan.FromMinutes(2));
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());

        var outputs = run["outputs"]!.AsArray().Select(o => (File: o!["file"]!.GetValue<string>(), Url: o["url"]!.GetValue<string>())).ToList();
        var source = Picture.Decode(await host.Client.GetByteArrayAsync(outputs.Single(o => Path.GetFileName(o.File).StartsWith("source", StringComparison.Ordinal)).Url));
        var result = Picture.Decode(await host.Client.GetByteArrayAsync(outputs.Single(o => Path.GetFileName(o.File).StartsWith("result", StringComparison.Ordinal)).Url));
        Assert.Equal((64, 64), (result.Width, result.Height));
        preprocessor.Check(source, result);
    }

    private Task<ApiHost> StartAsync() => ApiHost.StartAsync(_folder.Path,
        [.. RepositoryRoot.StableDiffusionSettings, .. workflows.InputFolders.Select((f, i) => ($"FlowDiffusion:InputFolders:{i}", f))]);

    private static async Task<Picture> PictureAsync(ApiHost host, object body)
    {
        var run = await host.WaitAsync(await host.SubmitAsync(body), TimeSpan.FromMinutes(3));
        Assert.True(run["status"]!.GetValue<string>() == "completed", run.ToJsonString());
        var output = Assert.Single(run["outputs"]!.AsArray())!;
        Assert.EndsWith(".png", output["file"]!.GetValue<string>());
        using var response = await host.Client.GetAsync(output["url"]!.GetValue<string>());
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        return Picture.Decode(await response.Content.ReadAsByteArrayAsync());
    }
}
