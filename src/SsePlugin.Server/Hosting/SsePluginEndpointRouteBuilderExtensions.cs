using Microsoft.AspNetCore.Routing;
using SsePlugin.Server.Transport;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the SSE server's gRPC service.</summary>
public static class SsePluginEndpointRouteBuilderExtensions
{
    /// <summary>Maps the <c>qlik.sse.Connector</c> gRPC service that Qlik's engine calls.</summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns>The service's endpoint conventions.</returns>
    public static GrpcServiceEndpointConventionBuilder MapSsePlugin(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<ConnectorService>();
}
