using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SsePlugin.Server.Health;
using SsePlugin.Server.Hosting;
using SsePlugin.Server.Observability;
using SsePlugin.Server.Transport;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the SSE server's gRPC service.</summary>
public static class SsePluginEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the <c>qlik.sse.Connector</c> gRPC service that Qlik's engine calls, and the standard gRPC health service
    /// (<c>grpc.health.v1.Health</c>) that load balancers and orchestrators call: service <c>""</c> for the whole
    /// host, each analytic connection by its name, each health check by its own (see <see cref="SseHealthTags"/>),
    /// with <c>Check</c>, <c>Watch</c> and <c>List</c>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns>The service's endpoint conventions.</returns>
    /// <exception cref="InvalidOperationException">The SSE server was not added to the app's services.</exception>
    public static GrpcServiceEndpointConventionBuilder MapSsePlugin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.ServiceProvider.GetService<ConnectionRegistry>() is null
            ? throw new InvalidOperationException(
                "The SSE server is not among the app's services: call builder.Services.AddSsePlugin() before "
                + "app.MapSsePlugin().")
            : MapServices(endpoints);
    }

    private static GrpcServiceEndpointConventionBuilder MapServices(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcService<HealthListService>();
        AdminEndpoint.Map(endpoints);
        return endpoints.MapGrpcService<ConnectorService>();
    }
}
