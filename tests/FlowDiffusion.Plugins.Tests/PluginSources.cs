namespace FlowDiffusion.Plugins.Tests;

/// <summary>Small third-party packs the tests write and build against the SDK package: each a csproj, a plugin.json and one node.</summary>
internal static class PluginSources
{
    /// <summary>Writes a pack into <paramref name="folder"/> whose build output goes to <paramref name="outDir"/>.</summary>
    public static string Write(string folder, string outDir, string assembly, string pluginId, string pluginVersion, string code, string extraReferences = "")
    {
        Directory.CreateDirectory(folder);
        var project = Path.Combine(folder, Path.GetFileName(folder) + ".csproj");
        File.WriteAllText(project, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <EnableDynamicLoading>true</EnableDynamicLoading>
                <AssemblyName>{assembly}</AssemblyName>
                <!-- Packs pinned to an old version on purpose; the advisory check would turn that into a build error. -->
                <NuGetAudit>false</NuGetAudit>
                <OutDir>{outDir}/</OutDir>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="FlowDiffusion.Sdk" Version="{PackedSdk.Version}" ExcludeAssets="runtime" />
                {extraReferences}
              </ItemGroup>
              <ItemGroup>
                <None Include="plugin.json" CopyToOutputDirectory="PreserveNewest" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(folder, "plugin.json"), $$"""
            { "id": "{{pluginId}}", "version": "{{pluginVersion}}", "sdk": ">=0.1.0 <1.0.0", "assembly": "{{assembly}}.dll",
              "description": "A pack written by the plugin tests.", "author": "FlowDiffusion tests" }
            """);
        File.WriteAllText(Path.Combine(folder, "Nodes.cs"), code);
        return project;
    }

    /// <summary>
    /// The hot-reload pack: <c>reload.greeting</c> waits <c>delay_ms</c>, then says which build it is, as its output and
    /// in <c>greeting-{node}.txt</c> in the run's output folder (what a client of the server can read back);
    /// <c>reload.constant</c> does the same as a cacheable node whose version never changes, and <c>reload.resource</c>
    /// through an object it keeps in its plugin's resource store.
    /// </summary>
    public static string Reloadable(int version, bool withAddedNode) => $$"""
        using FlowDiffusion.Sdk;

        namespace Tests.Reloadable;

        [Node("reload.greeting", "{{version}}.0.0", IsOutput = true, Deterministic = false)]
        public sealed class GreetingNode : INode
        {
            [Parameter] public int DelayMs { get; set; }

            [Output] public string? Text { get; set; }

            public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                await Task.Delay(DelayMs, cancellationToken);
                Text = "greeting from build {{version}}";
                var file = Path.Combine(context.OutputDirectory, $"greeting-{context.NodeId}.txt");
                await File.WriteAllTextAsync(file, Text, cancellationToken);
                context.ReportOutputFile(file);
            }
        }

        // What a plugin keeps across runs (a model library, say): its type is this build's.
        public sealed class Greeter
        {
            public string Text => "resource from build {{version}}";
        }

        [Node("reload.resource", "{{version}}.0.0", IsOutput = true, Deterministic = false)]
        public sealed class ResourceNode : INode
        {
            [Output] public string? Text { get; set; }

            public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                Text = context.Resources.GetOrAdd("greeter", () => new Greeter()).Text;
                return Task.CompletedTask;
            }
        }

        // Same id and version in every build, different output: a rebuild that forgot to bump the version.
        [Node("reload.constant", "1.0.0", IsOutput = true)]
        public sealed class ConstantNode : INode
        {
            [Parameter] public int DelayMs { get; set; }

            [Output] public string? Text { get; set; }

            public async Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                await Task.Delay(DelayMs, cancellationToken);
                Text = "constant from build {{version}}";
            }
        }
        {{(withAddedNode ? """

        [Node("reload.added", "1.0.0", IsOutput = true)]
        public sealed class AddedNode : INode
        {
            [Output] public string? Text { get; set; }

            public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                Text = "added in a rebuild";
                return Task.CompletedTask;
            }
        }
        """ : "")}}
        """;

    /// <summary>The native library <see cref="OwnNative"/> imports.</summary>
    public const string OwnNativeLibrary = "fdtestnative";

    /// <summary>A pack that imports a native library of its own (the tests ship a file of that name beside it); its node never calls it.</summary>
    public const string OwnNative = $$"""
        using System.Runtime.InteropServices;
        using FlowDiffusion.Sdk;

        namespace Tests.OwnNative;

        public static class NativeMethods
        {
            [DllImport("{{OwnNativeLibrary}}")]
            public static extern int fd_answer();
        }

        [Node("native.answer", "1.0.0", IsOutput = true, Deterministic = false)]
        public sealed class AnswerNode : INode
        {
            [Output] public string? Text { get; set; }

            public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                Text = "answered without the native library";
                return Task.CompletedTask;
            }
        }
        """;

    /// <summary>A pack whose node reports the Newtonsoft.Json it sees and uses it.</summary>
    public static string JsonVersion(string nodeId) => $$"""
        using FlowDiffusion.Sdk;
        using Newtonsoft.Json;

        namespace Tests.Json;

        [Node("{{nodeId}}", "1.0.0", IsOutput = true, Deterministic = false)]
        public sealed class JsonVersionNode : INode
        {
            [Output] public string? Version { get; set; }

            public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                var assembly = typeof(JsonConvert).Assembly.GetName();
                Version = $"{assembly.Version} {JsonConvert.SerializeObject(new { ok = true })}";
                return Task.CompletedTask;
            }
        }
        """;

    /// <summary>A pack whose node reports the YamlDotNet it sees (the host's engine uses another version) and uses it.</summary>
    public static string YamlVersion(string nodeId) => $$"""
        using FlowDiffusion.Sdk;
        using YamlDotNet.RepresentationModel;

        namespace Tests.Yaml;

        [Node("{{nodeId}}", "1.0.0", IsOutput = true, Deterministic = false)]
        public sealed class YamlVersionNode : INode
        {
            [Output] public string? Version { get; set; }

            public Task ExecuteAsync(INodeContext context, CancellationToken cancellationToken)
            {
                var stream = new YamlStream();
                stream.Load(new StringReader("answer: 42"));
                var root = (YamlMappingNode)stream.Documents[0].RootNode;
                Version = $"{typeof(YamlStream).Assembly.GetName().Version} answer={root.Children[new YamlScalarNode("answer")]}";
                return Task.CompletedTask;
            }
        }
        """;
}
