using System.Reflection;
using System.Text.RegularExpressions;
using FlowDiffusion.Sdk;

namespace FlowDiffusion.Engine.Schema;

/// <summary>Reads a node class's attributes into a <see cref="NodeDescriptor"/> — the single source of the schema.</summary>
public static partial class NodeDescriptorReader
{
    [GeneratedRegex(@"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")]
    private static partial Regex VersionPattern();

    /// <summary>Whether <paramref name="type"/> is a concrete node class.</summary>
    public static bool IsNodeType(Type type) =>
        type is { IsClass: true, IsAbstract: false } && typeof(INode).IsAssignableFrom(type) &&
        type.GetCustomAttribute<NodeAttribute>() is not null;

    /// <summary>Reads the schema of a node class; the class is instantiated once to read parameter defaults.</summary>
    /// <exception cref="NodeDeclarationException">The declaration is unusable, or the constructor throws.</exception>
    public static NodeDescriptor Read(Type type, string plugin)
    {
        var node = type.GetCustomAttribute<NodeAttribute>()
            ?? throw new NodeDeclarationException($"{type.FullName} has no [Node] attribute.");
        if (!IdPattern().IsMatch(node.Id))
            throw new NodeDeclarationException($"{type.FullName}: node id '{node.Id}' must look like 'namespace.name' (lower case, dots between parts).");
        if (!VersionPattern().IsMatch(node.Version))
            throw new NodeDeclarationException($"{type.FullName}: version '{node.Version}' of '{node.Id}' is not a semantic version such as 1.0.0.");
        if (type.GetConstructor(Type.EmptyTypes) is null)
            throw new NodeDeclarationException($"{type.FullName}: node '{node.Id}' needs a public parameterless constructor.");

        object instance;
        try
        {
            instance = Activator.CreateInstance(type)!;
        }
        catch (TargetInvocationException e)
        {
            throw new NodeDeclarationException($"the constructor of node '{node.Id}' ({type.FullName}) threw: {e.InnerException?.Message}", e.InnerException);
        }

        var inputs = new List<PortDescriptor>();
        var outputs = new List<PortDescriptor>();
        var parameters = new List<ParameterDescriptor>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = SnakeCase.From(property.Name);
            if (property.GetCustomAttribute<InputAttribute>() is { } input)
            {
                RequireSetter(property, node.Id);
                inputs.Add(new PortDescriptor(name, PortType.Of(property.PropertyType), input.Description, input.Optional, property));
            }
            else if (property.GetCustomAttribute<OutputAttribute>() is { } output)
            {
                outputs.Add(new PortDescriptor(name, PortType.Of(output.Type ?? property.PropertyType), output.Description, false, property));
            }
            else if (property.GetCustomAttribute<ParameterAttribute>() is { } parameter)
            {
                RequireSetter(property, node.Id);
                parameters.Add(ReadParameter(node.Id, name, property, parameter, property.GetValue(instance)));
            }
        }

        var duplicate = inputs.Select(p => p.Name).Concat(parameters.Select(p => p.Name)).GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new NodeDeclarationException($"node '{node.Id}' declares '{duplicate.Key}' twice.");

        return new NodeDescriptor(node.Id, node.Version, node.Title ?? TitleFrom(node.Id), node.Category, node.Description,
            node.Deterministic, node.IsOutput, plugin, type, inputs, outputs, parameters);
    }

    private static IReadOnlyList<string> ChoicesFrom(string id, string name, Type source)
    {
        if (!typeof(IParameterChoices).IsAssignableFrom(source) || source.GetConstructor(Type.EmptyTypes) is null)
            throw new NodeDeclarationException($"node '{id}': parameter '{name}' takes its choices from {source.FullName}, which is not an {nameof(IParameterChoices)} with a parameterless constructor.");
        IReadOnlyList<string> choices;
        try
        {
            choices = ((IParameterChoices)Activator.CreateInstance(source)!).Choices;
        }
        catch (Exception e) when (e is not NodeDeclarationException)
        {
            throw new NodeDeclarationException($"node '{id}': parameter '{name}': {source.FullName} failed to supply its choices: {(e.InnerException ?? e).Message}");
        }
        if (choices is null || choices.Count == 0 || choices.Any(string.IsNullOrEmpty))
            throw new NodeDeclarationException($"node '{id}': parameter '{name}': {source.FullName} supplies no choices, or an empty one.");
        return [.. choices];
    }

    private static void RequireSetter(PropertyInfo property, string id)
    {
        if (property.SetMethod is not { IsPublic: true })
            throw new NodeDeclarationException($"node '{id}': property {property.Name} needs a public setter.");
    }

    private static ParameterDescriptor ReadParameter(string id, string name, PropertyInfo property, ParameterAttribute attribute, object? value)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        IReadOnlyList<string> choices = attribute.ChoicesFrom is { } source ? ChoicesFrom(id, name, source) : attribute.Choices;
        ParameterValueType valueType;
        object? defaultValue = value;
        if (type.IsEnum)
        {
            valueType = ParameterValueType.String;
            choices = Enum.GetNames(type).Select(SnakeCase.From).ToArray();
            defaultValue = value is null ? null : SnakeCase.From(value.ToString()!);
        }
        else
        {
            valueType = Type.GetTypeCode(type) switch
            {
                TypeCode.String => ParameterValueType.String,
                TypeCode.Boolean => ParameterValueType.Boolean,
                TypeCode.Int32 or TypeCode.Int64 or TypeCode.UInt32 or TypeCode.UInt64 => ParameterValueType.Integer,
                TypeCode.Single or TypeCode.Double => ParameterValueType.Number,
                _ when type == typeof(double[]) || type == typeof(float[]) || type == typeof(int[]) || type == typeof(long[]) => ParameterValueType.NumberList,
                _ when type == typeof(string[]) => ParameterValueType.StringList,
                _ => throw new NodeDeclarationException($"node '{id}': parameter '{name}' has type {type.Name}; parameters are strings, booleans, numbers, lists of those, or enums."),
            };
            if (defaultValue is Array array)
                defaultValue = array.Cast<object>().ToList();
        }
        return new ParameterDescriptor(name, valueType, defaultValue, attribute.Min, attribute.Max, attribute.Step, choices,
            attribute.Multiline, attribute.Required, attribute.Kind, attribute.Description, property) { Advanced = attribute.Advanced };
    }

    private static string TitleFrom(string id)
    {
        var words = id.Replace('_', '.').Split('.');
        return string.Join(' ', words.Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));
    }
}
