using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SsePlugin.R;
using SsePlugin.Server.Health;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Scripting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the R engine to an SSE server.</summary>
public static class SsePluginBuilderRExtensions
{
    /// <summary>
    /// Runs scripts in R through Rserve: Qlik's script functions on connections whose <c>ScriptEngine</c> is
    /// <c>r</c>, and functions-file scripts. Its settings (the Rserve to use or start, the pool, limits) are bound
    /// from the <c>SsePlugin:Rserve</c> configuration section. Registers health checks tagged <c>r</c>:
    /// <c>rserve</c> over every Rserve, and <c>rserve:HOST:PORT</c> for each Rserve of one's own, also tagged
    /// <c>detail</c>.
    /// </summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <param name="configure">Changes the settings after configuration is bound, if given.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddR(this ISsePluginBuilder builder, Action<ROptions>? configure = null)
    {
        var services = builder.Services;
        var options = services.AddOptions<ROptions>()
            .BindConfiguration(ROptions.Section, binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Added once, however often AddR is called.
        if (services.Any(service => service.ServiceType == typeof(RserveSupervisor)))
        {
            return builder;
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ROptions>, ROptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ROptions>, ROptions.Validator>());
        services.TryAddSingleton<RservePool>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IScriptEngine, RScriptEngine>());
        services.TryAddSingleton<RserveSupervisor>();
        services.AddHostedService(provider => provider.GetRequiredService<RserveSupervisor>());

        // Known once the settings are: the Rserves to check.
        services.AddHealthChecks();
        // Only when a connection runs R: a host serving JavaScript alone checks no Rserve.
        services.AddOptions<HealthCheckServiceOptions>().Configure<RserveSupervisor, IServiceProvider>(
            (health, supervisor, provider) =>
        {
            if (!provider.GetRequiredService<ConnectionRegistry>().AnyRuns(SseHealthTags.R))
            {
                return;
            }

            health.Registrations.Add(new HealthCheckRegistration(
                RserveHealthCheck.Name, new RserveHealthCheck(supervisor, null), null, RserveHealthCheck.Tags));
            if (!supervisor.IsHostRun)
            {
                foreach (var address in supervisor.Addresses)
                {
                    health.Registrations.Add(new HealthCheckRegistration(
                        $"{RserveHealthCheck.Name}:{address.Name}",
                        new RserveHealthCheck(supervisor, address),
                        HealthStatus.Unhealthy,
                        RserveHealthCheck.DetailTags));
                }
            }
        });
        return builder.AddFunctionsFiles();
    }
}
