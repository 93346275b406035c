using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SsePlugin.Python;
using SsePlugin.Server.Health;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Scripting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Python engine to an SSE server.</summary>
public static class SsePluginBuilderPythonExtensions
{
    /// <summary>
    /// Runs scripts in CPython worker processes the host starts and supervises: Qlik's script functions on connections
    /// whose <c>ScriptEngine</c> is <c>python</c>, and functions-file scripts. Its settings are bound from the
    /// <c>SsePlugin:Python</c> configuration section. Registers the health check <c>python</c>, tagged <c>python</c>.
    /// </summary>
    /// <param name="builder">The SSE server's builder.</param>
    /// <param name="configure">Changes the settings after configuration is bound, if given.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static ISsePluginBuilder AddPython(this ISsePluginBuilder builder, Action<PythonOptions>? configure = null)
    {
        var services = builder.Services;
        var options = services.AddOptions<PythonOptions>()
            .BindConfiguration(PythonOptions.Section, binder => binder.ErrorOnUnknownConfiguration = true)
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // Added once, however often AddPython is called.
        if (services.Any(service => service.ServiceType == typeof(PythonWorkers)))
        {
            return builder;
        }

        services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<PythonOptions>, PythonOptionsValidator>());
        services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<PythonOptions>, PythonOptions.Validator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IScriptEngine, PythonScriptEngine>());
        services.TryAddSingleton<PythonWorkers>();
        services.AddHostedService(provider => provider.GetRequiredService<PythonWorkers>());

        services.AddHealthChecks();
        // Only when a connection runs Python.
        services.AddOptions<HealthCheckServiceOptions>().Configure<PythonWorkers, IServiceProvider>(
            (health, workers, provider) =>
            {
                if (provider.GetRequiredService<ConnectionRegistry>().AnyRuns(SseHealthTags.Python))
                {
                    health.Registrations.Add(new HealthCheckRegistration(
                        PythonHealthCheck.Name, new PythonHealthCheck(workers), null, PythonHealthCheck.Tags));
                }
            });
        return builder.AddFunctionsFiles();
    }
}
