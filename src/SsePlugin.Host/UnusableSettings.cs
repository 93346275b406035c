using System.Reflection;
using System.Text.RegularExpressions;
using SsePlugin.JavaScript;
using SsePlugin.R;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Host;

/// <summary>
/// Finds the settings the host cannot use, which configuration would otherwise ignore without a word: from any source,
/// a mistyped key under <c>SsePlugin</c> (<c>SsePlugin:Prot</c>); the command line checks its own switches.
/// </summary>
internal static partial class UnusableSettings
{
    // Read by the host itself rather than bound to an options class.
    private static readonly string[] HostSettings = [SsePluginHost.ExamplesSetting, "JavaScript", "Rserve"];

    /// <summary>Describes each unknown setting with what is known in its place.</summary>
    /// <param name="configuration">The whole configuration.</param>
    /// <returns>One sentence per unknown setting; none when all are known.</returns>
    public static IEnumerable<string> Describe(IConfiguration configuration)
    {
        // Kestrel would listen there too, serving the main connection's functions without its certificates.
        var endpoints = configuration.GetSection("Kestrel:Endpoints");
        if (endpoints.GetChildren().Any())
        {
            yield return $"{endpoints.Path} is not used: each analytic connection listens on a port of its own, "
                + "with its own certificates "
                + $"({SsePluginOptions.Section}:Port, {SsePluginOptions.Section}:Connections); remove the section.";
        }

        var section = configuration.GetSection(SsePluginOptions.Section);
        var javaScript = configuration.GetSection(JavaScriptOptions.Section);
        var rserve = configuration.GetSection(ROptions.Section);
        var connections = section.GetSection(nameof(SsePluginOptions.Connections));
        foreach (var part in new[] { javaScript, rserve, connections })
        {
            if (part.Value is { Length: > 0 })
            {
                yield return $"{part.Path} holds a value where a section of settings belongs "
                    + $"(e.g. {part.Path}:Name value); see the README's configuration table.";
            }
        }

        var problems = Check(section, typeof(SsePluginOptions), HostSettings)
            .Concat(Check(javaScript, typeof(JavaScriptOptions)))
            .Concat(Check(rserve, typeof(ROptions)))
            .Concat(Check(connections))
            .Concat(connections.GetChildren()
                .SelectMany(connection => Check(connection, typeof(SseConnectionOptions))));
        foreach (var problem in problems)
        {
            yield return problem;
        }
    }

    // A section's keys that name no setting, and settings left null (JSON's null) that must have a value.
    private static IEnumerable<string> Check(IConfigurationSection section, Type options, params string[] alsoKnown)
    {
        var properties = options.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        var known = properties.Select(p => p.Name).Concat(alsoKnown).Order(StringComparer.Ordinal).ToList();
        var nullability = new NullabilityInfoContext();
        foreach (var setting in section.GetChildren())
        {
            var property = Array.Find(properties, p => p.Name.Equals(setting.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null && !alsoKnown.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            {
                yield return $"{setting.Path} is not a setting; "
                    + $"the settings in {section.Path} are {string.Join(", ", known)}.";
            }
            else if (property is { CanWrite: true } && setting.Value is null && !setting.GetChildren().Any()
                && (property.PropertyType.IsValueType
                    || nullability.Create(property).WriteState == NullabilityState.NotNull))
            {
                yield return $"{setting.Path} is null; give it a value, or leave it out for its default.";
            }
        }
    }

    // The connections: each named as a key, with a port of its own.
    private static IEnumerable<string> Check(IConfigurationSection connections)
    {
        foreach (var connection in connections.GetChildren())
        {
            if (!ConnectionName().IsMatch(connection.Key))
            {
                yield return $"{connection.Path}: a connection's name starts with a letter and holds letters, digits, "
                    + $"'_' and '-' only ({connections.Path} is an object, not an array).";
            }
            else if (connection.GetSection(nameof(SseConnectionOptions.Port)).Value is null)
            {
                yield return $"{connection.Path} has no Port; each connection needs a port of its own.";
            }
        }
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]*$")]
    private static partial Regex ConnectionName();
}
