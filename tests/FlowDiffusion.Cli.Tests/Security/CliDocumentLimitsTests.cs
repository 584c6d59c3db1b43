namespace FlowDiffusion.Cli.Tests.Security;

/// <summary>
/// Hostile documents against the real CLI process: an 80 KB nested document used to overflow YamlDotNet's recursion and
/// abort the process (exit 134); it is now an invalid workflow (exit 1) with the limit named.
/// </summary>
public sealed class CliDocumentLimitsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fd-cli-security-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("[", "]")]
    [InlineData("{a: ", "}")]
    public void Validate_of_a_deeply_nested_document_exits_1_naming_the_depth_limit(string open, string close)
    {
        var file = Path.Combine(_folder, "deep.yaml");
        File.WriteAllText(file, "flowdiffusion: 1\nnodes: " + string.Concat(Enumerable.Repeat(open, 40_000)) + string.Concat(Enumerable.Repeat(close, 40_000)) + "\n");

        var (exit, _, stderr) = Cli.Run("validate", file);

        Assert.Equal(1, exit);
        Assert.Contains($"{file}:2:1:", stderr);
        Assert.Contains("more than 64 levels", stderr);
    }
}
