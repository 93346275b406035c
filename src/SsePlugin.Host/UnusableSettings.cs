using SsePlugin.R;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Observability;

namespace SsePlugin.Host;

/// <summary>
/// Finds the settings the host cannot use that the configuration binder and the options' validators cannot see,
/// because they lie in what the configuration holds rather than in the values bound: a null (JSON's null), which the
/// binder binds as false, 0 or no text; a value beside settings (<c>SsePlugin:Rserve</c> given a value while
/// appsettings.json gives it settings), which the binder drops; a connection without a port of its own, which would
/// take the default port; Kestrel's endpoints, which would listen beside the analytic connections. Unknown keys and
/// values of the wrong type are the binder's to refuse (<see cref="HostSettings"/>).
/// </summary>
internal static class UnusableSettings
{
    // The settings whose null means what leaving them out means, and the sections, which may be empty.
    private static readonly HashSet<string> MayBeNull = new(StringComparer.OrdinalIgnoreCase)
    {
        nameof(HostSettings.Certs), nameof(HostSettings.FunctionsFile), nameof(HostSettings.FunctionsFolder),
        nameof(HostSettings.Examples), nameof(HostSettings.Connections), nameof(HostSettings.JavaScript),
        nameof(HostSettings.Rserve), nameof(ROptions.User), nameof(ROptions.Password), nameof(ROptions.InitScript),
        nameof(ROptions.RunAs), nameof(HostSettings.Python), nameof(HostSettings.Metrics), nameof(HostSettings.Admin),
        nameof(MetricsOptions.OtlpEndpoint), nameof(AdminOptions.Token),
    };

    /// <summary>Describes each setting the host cannot use.</summary>
    /// <param name="configuration">The whole configuration.</param>
    /// <returns>One sentence per setting; none when all are usable.</returns>
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
        foreach (var setting in Descendants(section))
        {
            var holdsSettings = setting.GetChildren().Any();
            if (setting.Value is null && !holdsSettings && !MayBeNull.Contains(setting.Key))
            {
                yield return $"{setting.Path} is null; give it a value, or leave it out for its default.";
            }
            else if (setting.Value is { Length: > 0 } && holdsSettings)
            {
                // The binder would take the settings and drop the value without a word.
                yield return $"{setting.Path} holds a value where a section of settings belongs "
                    + $"(e.g. {setting.Path}:Name value); see docs/configuration.md.";
            }
        }

        foreach (var connection in section.GetSection(nameof(HostSettings.Connections)).GetChildren())
        {
            if (connection.GetSection(nameof(SseConnectionOptions.Port)).Value is null)
            {
                yield return $"{connection.Path} has no Port; each connection needs a port of its own.";
            }
        }
    }

    private static IEnumerable<IConfigurationSection> Descendants(IConfigurationSection section) =>
        section.GetChildren().SelectMany(child => Descendants(child).Prepend(child));
}
