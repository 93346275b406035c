using System.Reflection;
using SsePlugin.Server;
using SsePlugin.Server.Scripting.JavaScript;
using SsePlugin.Server.Scripting.R;

namespace SsePlugin.Host;

/// <summary>
/// Finds the settings the host cannot use, which configuration would otherwise ignore without a word: an argument
/// that is no option, a switch without its value, a mistyped switch (<c>--prot 50052</c>) and, from any source, a
/// mistyped key under <c>SsePlugin</c> (<c>SsePlugin:Prot</c>).
/// </summary>
internal static class UnknownSettings
{
    // The generic host's own settings that an administrator may give as a switch.
    private static readonly string[] HostSwitches = ["environment", "shutdownTimeoutSeconds"];

    // Read by the host itself rather than bound to an options class.
    private static readonly string[] HostSettings = ["Examples", "JavaScript", "Rserve"];

    /// <summary>Describes each unknown setting with what is known in its place.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="commandLine">The command line's settings, its switches already mapped.</param>
    /// <param name="switches">The switches the host maps.</param>
    /// <param name="section">The <c>SsePlugin</c> section of the whole configuration.</param>
    /// <returns>One sentence per unknown setting; none when all are known.</returns>
    public static IEnumerable<string> Describe(string[] args, IConfiguration commandLine, IEnumerable<string> switches, IConfigurationSection section)
    {
        // Configuration drops an argument that is not --name value (or --name=value), without a word.
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                yield return $"'{args[i]}' is neither a command (certs, doctor) nor an option; write options as --name value (see --help).";
            }
            else if (!args[i].Contains('=', StringComparison.Ordinal) && ++i == args.Length)
            {
                yield return $"{args[i - 1]} needs a value.";
            }
        }

        var unknownSwitches = commandLine.GetChildren()
            .Where(setting => setting.Value is not null && !HostSwitches.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            .Select(setting => $"--{setting.Key}")
            .ToList();
        if (unknownSwitches.Count > 0)
        {
            yield return $"{string.Join(", ", unknownSwitches)}: no such option. The options are {string.Join(", ", switches)} "
                + $"and --shutdownTimeoutSeconds; any setting is also --Section:Key value (e.g. --{SsePluginOptions.Section}:MaxConcurrentCalls 64).";
        }

        var unknown = Unknown(section, typeof(SsePluginOptions), HostSettings)
            .Concat(Unknown(section.GetSection("JavaScript"), typeof(JavaScriptOptions)))
            .Concat(Unknown(section.GetSection("Rserve"), typeof(ROptions)))
            .Concat(section.GetSection(nameof(SsePluginOptions.Connections)).GetChildren().SelectMany(c => Unknown(c, typeof(SseConnectionOptions))));
        foreach (var sentence in unknown)
        {
            yield return sentence;
        }
    }

    private static IEnumerable<string> Unknown(IConfigurationSection section, Type options, params string[] alsoKnown)
    {
        var known = options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).Concat(alsoKnown).Order(StringComparer.Ordinal).ToList();
        return section.GetChildren()
            .Where(setting => !known.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            .Select(setting => $"{setting.Path} is not a setting; the settings in {section.Path} are {string.Join(", ", known)}.");
    }
}
