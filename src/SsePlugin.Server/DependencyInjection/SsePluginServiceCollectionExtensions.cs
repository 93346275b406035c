using Grpc.AspNetCore.HealthChecks;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using SsePlugin.Server.Health;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Observability;
using SsePlugin.Server.Scripting;
using SsePlugin.Server.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds an SSE server to an application's services.</summary>
public static class SsePluginServiceCollectionExtensions
{
    /// <summary>How often the health checks run for <c>Watch</c> calls of the gRPC health service.</summary>
    private static readonly TimeSpan HealthPublisherPeriod = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Adds the SSE server, its settings bound from the <c>SsePlugin</c> configuration section; then name the
    /// functions it serves (<see cref="SsePluginBuilderExtensions.AddFunctions{T}"/>) and the script engines it runs,
    /// and map it with <c>app.MapSsePlugin()</c>.
    /// </summary>
    /// <remarks>
    /// The analytic connections and their catalogs are built once, when first resolved: every function and
    /// connection setting is checked, and any mistake throws
    /// <see cref="SsePlugin.Server.Catalog.SseConfigurationException"/> listing them all. Resolve
    /// <see cref="ConnectionRegistry"/> before the server starts listening to refuse to start on a mistake.
    /// </remarks>
    /// <example>
    /// <code>
    /// builder.Services.AddSsePlugin().AddFunctions&lt;MyFunctions&gt;();
    /// app.MapSsePlugin();
    /// </code>
    /// </example>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Changes the settings after configuration is bound, if given.</param>
    /// <returns>A builder to add functions and script engines with.</returns>
    public static ISsePluginBuilder AddSsePlugin(
        this IServiceCollection services, Action<SsePluginOptions>? configure = null)
    {
        var options = services.AddOptions<SsePluginOptions>().BindConfiguration(SsePluginOptions.Section);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The section also holds the engines' sections (JavaScript, Rserve) and a host's own settings, so unknown
        // keys are left to the host, which binds them all in one type (the console host's HostSettings).
        options.ValidateOnStart();
        services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<SsePluginOptions>, SsePluginOptionsValidator>());
        services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<SsePluginOptions>, ConnectionNamesValidator>());
        // The largest request message is the SSE service's own: the app's other gRPC services keep theirs.
        services.AddGrpc();
        services.AddOptions<GrpcServiceOptions<ConnectorService>>().Configure<IOptions<SsePluginOptions>>(
            (grpc, sse) => grpc.MaxReceiveMessageSize = sse.Value.MaxReceiveMessageBytes);
        services.AddSingleton(ConnectionRegistry.Create);
        services.TryAddEnumerable(ServiceDescriptor.Transient<IConfigureOptions<KestrelServerOptions>, KestrelSetup>());
        services.AddSingleton(provider => new CallLimit(
            provider.GetRequiredService<IOptions<SsePluginOptions>>().Value.MaxConcurrentCalls));
        services.AddSingleton<ConnectorService>();
        AddDrainAndHealth(services);
        AddMetrics(services);
        return new SsePluginBuilder(services);
    }

    // A stopping host drains (HostDrain); the gRPC health service reports the host, each connection and each check.
    private static void AddDrainAndHealth(IServiceCollection services)
    {
        services.AddSingleton<HostDrain>();
        services.AddSingleton<ListenSockets>();
        services.AddSingleton<IConfigureOptions<SocketTransportOptions>>(
            provider => provider.GetRequiredService<ListenSockets>());
        services.AddHostedService(provider => provider.GetRequiredService<HostDrain>());
        services.AddOptions<HostOptions>().PostConfigure<IOptions<SsePluginOptions>>(
            (host, sse) => HostDrain.AddDelayToShutdownTimeout(host, sse.Value));
        services.AddGrpcHealthChecks().AddCheck<DrainHealthCheck>(DrainHealthCheck.Name);
        services.AddOptions<GrpcHealthChecksOptions>()
            .Configure<ConnectionRegistry, IOptions<HealthCheckServiceOptions>, IEnumerable<IScriptEngine>>(
                (health, connections, checks, engines) =>
                    HealthServiceMap.Map(health, connections, checks.Value, engines.Select(engine => engine.Name)));

        // Watch calls learn of a change within a publisher period; Check runs the checks when called.
        services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.FromSeconds(1);
            publisher.Period = HealthPublisherPeriod;
        });
    }

    // The calls' record (the SsePlugin meter, the status page's history) and OpenTelemetry, which collects that meter,
    // the runtime's, Kestrel's and grpc-dotnet's for the admin endpoint's /metrics; with metrics off, none of them.
    private static void AddMetrics(IServiceCollection services)
    {
        services.TryAddEnumerable(
            ServiceDescriptor.Singleton<IValidateOptions<SsePluginOptions>, AdminOptionsValidator>());
        services.AddSingleton(provider => new CallObserver(
            provider.GetRequiredService<IOptions<SsePluginOptions>>().Value.Metrics.Enabled,
            provider.GetRequiredService<CallLimit>(),
            TimeProvider.System));
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddPrometheusExporter().AddView(MetricViews.Of);
            ((IDeferredMeterProviderBuilder)metrics).Configure((provider, deferred) =>
            {
                if (provider.GetRequiredService<IOptions<SsePluginOptions>>().Value.Metrics.Enabled)
                {
                    deferred.AddMeter(SseMeter.Name, MetricViews.Runtime, MetricViews.Kestrel);
                }
            });
        });
    }

    private sealed class SsePluginBuilder(IServiceCollection services) : ISsePluginBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
