using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.Loader;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Tests.Plugins;

/// <summary>
/// Writes a real plugin assembly whose node class derives from a type in a second assembly, so the pair can be
/// deployed with or without that dependency. Emitted at test time: no prebuilt binaries in the repository.
/// </summary>
internal static class MissingDependencyPlugin
{
    public const string Assembly = "FlowDiffusion.NeedsGadget.dll";
    public const string DependencyName = "FlowDiffusion.AbsentDependency";
    public const string NodeId = "gadget.node";

    /// <summary>Writes the plugin assembly and its manifest to <paramref name="folder"/>; the dependency too when asked.</summary>
    public static void Write(string folder, bool withDependency)
    {
        Directory.CreateDirectory(folder);
        var dependency = EmitDependency();
        if (withDependency) File.WriteAllBytes(Path.Combine(folder, DependencyName + ".dll"), dependency);

        // The plugin must be emitted against a live Gadget type; load the bytes where the plugin host will never look.
        var context = new AssemblyLoadContext("emit-" + Guid.NewGuid().ToString("N"), isCollectible: true);
        try
        {
            var gadget = context.LoadFromStream(new MemoryStream(dependency)).GetType(DependencyName + ".Gadget", throwOnError: true)!;
            EmitPlugin(gadget, Path.Combine(folder, Assembly));
        }
        finally
        {
            context.Unload();
        }
        File.WriteAllText(Path.Combine(folder, "plugin.json"),
            $$"""{ "id": "sample.needs-gadget", "version": "1.0.0", "sdk": ">=0.1.0 <1.0.0", "assembly": "{{Assembly}}" }""");
    }

    private static byte[] EmitDependency()
    {
        var builder = new PersistedAssemblyBuilder(new AssemblyName(DependencyName), typeof(object).Assembly);
        var module = builder.DefineDynamicModule(DependencyName);
        var gadget = module.DefineType(DependencyName + ".Gadget", TypeAttributes.Public | TypeAttributes.Class);
        gadget.DefineDefaultConstructor(MethodAttributes.Public);
        gadget.CreateType();
        using var stream = new MemoryStream();
        builder.Save(stream);
        return stream.ToArray();
    }

    private static void EmitPlugin(Type gadget, string path)
    {
        var builder = new PersistedAssemblyBuilder(new AssemblyName(Path.GetFileNameWithoutExtension(Assembly)), typeof(object).Assembly);
        var module = builder.DefineDynamicModule(Path.GetFileNameWithoutExtension(Assembly));
        var node = module.DefineType("FlowDiffusion.NeedsGadget.GadgetNode", TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, gadget, [typeof(INode)]);
        node.SetCustomAttribute(new CustomAttributeBuilder(typeof(NodeAttribute).GetConstructor([typeof(string), typeof(string)])!, [NodeId, "1.0.0"]));

        var constructor = node.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, Type.EmptyTypes);
        var il = constructor.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, gadget.GetConstructor(Type.EmptyTypes)!);
        il.Emit(OpCodes.Ret);

        var interfaceMethod = typeof(INode).GetMethod(nameof(INode.ExecuteAsync))!;
        var execute = node.DefineMethod(interfaceMethod.Name,
            MethodAttributes.Public | MethodAttributes.Virtual | MethodAttributes.Final | MethodAttributes.HideBySig | MethodAttributes.NewSlot,
            typeof(Task), [typeof(INodeContext), typeof(CancellationToken)]);
        il = execute.GetILGenerator();
        il.Emit(OpCodes.Call, typeof(Task).GetProperty(nameof(Task.CompletedTask))!.GetMethod!);
        il.Emit(OpCodes.Ret);
        node.DefineMethodOverride(execute, interfaceMethod);

        node.CreateType();
        builder.Save(path);
    }
}
