using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SsePlugin.Server.Connections;
using SsePlugin.Server.Discovery;
using SsePlugin.Server.Grpc;
using SsePlugin.Server.Scripting;
using SsePlugin.Server.Scripting.JavaScript;
using SsePlugin.Server.Scripting.R;

namespace SsePlugin.Server;

/// <summary>Registers the SSE server and its functions.</summary>
public static class SsePluginServiceCollectionExtensions
{
    /// <summary>Adds the SSE server; then name the function classes with <see cref="AddSseFunctions{T}"/>.</summary>
    /// <remarks>
    /// The analytic connections and their catalogs are built once, when first resolved: every function and
    /// connection setting is checked, and any mistake throws <see cref="SseConfigurationException"/> listing them all.
    /// Resolve <see cref="AnalyticConnections"/> before the server starts listening to refuse to start on a mistake.
    /// </remarks>
    /// <example>
    /// <code>
    /// builder.Services.AddSsePlugin().AddSseFunctions&lt;MyFunctions&gt;();
    /// app.MapSsePlugin();
    /// </code>
    /// </example>
    /// <param name="services">The host's services.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddSsePlugin(this IServiceCollection services)
    {
        services.AddOptions<SsePluginOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddGrpc();
        services.AddOptions<global::Grpc.AspNetCore.Server.GrpcServiceOptions>()
            .Configure<IOptions<SsePluginOptions>>((grpc, sse) => grpc.MaxReceiveMessageSize = sse.Value.MaxReceiveMessageBytes);
        services.AddOptions<JavaScriptOptions>().BindConfiguration($"{SsePluginOptions.Section}:JavaScript").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IScriptEngine, JintScriptEngine>();
        services.AddOptions<ROptions>().BindConfiguration(ROptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ROptions>, ROptions.Validator>();
        services.AddSingleton<RservePool>();
        services.AddSingleton<IScriptEngine, RScriptEngine>();
        services.AddSingleton<RserveSupervisor>();
        services.AddHostedService(provider => provider.GetRequiredService<RserveSupervisor>());
        services.AddSingleton(sp => AnalyticConnections.Create(
            sp.GetRequiredService<IOptions<SsePluginOptions>>().Value,
            sp.GetServices<IFunctionSource>(),
            sp.GetServices<IScriptEngine>(),
            sp));
        services.AddSingleton<ConnectorService>();
        return services;
    }

    /// <summary>Serves the <see cref="SseFunctionAttribute"/> methods of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A function class.</typeparam>
    /// <param name="services">The host's services.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddSseFunctions<T>(this IServiceCollection services) => services.AddSseFunctions(typeof(T));

    /// <summary>Serves the <see cref="SseFunctionAttribute"/> methods of the given classes.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="types">Function classes.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddSseFunctions(this IServiceCollection services, params Type[] types) =>
        services.AddSingleton<IFunctionSource>(new AttributedFunctionSource(types));

    /// <summary>Serves the <see cref="SseFunctionAttribute"/> methods of every public class of an assembly.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="assembly">The assembly to search.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddSseFunctionsFrom(this IServiceCollection services, Assembly assembly) =>
        services.AddSseFunctions(assembly.GetExportedTypes());

    /// <summary>Serves the functions of the assemblies in a folder (see <see cref="FolderFunctionSource"/>).</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="folder">The folder.</param>
    /// <returns>The same services, for chaining.</returns>
    public static IServiceCollection AddSseFunctionsFromFolder(this IServiceCollection services, string folder) =>
        services.AddSingleton<IFunctionSource>(new FolderFunctionSource(folder));

    /// <summary>Maps the <c>qlik.sse.Connector</c> gRPC service.</summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns>The service's endpoint conventions.</returns>
    public static GrpcServiceEndpointConventionBuilder MapSsePlugin(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<ConnectorService>();
}
