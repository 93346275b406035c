using Grpc.AspNetCore.HealthChecks;
using Grpc.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SsePlugin.Health.V1;

using ServingStatus = SsePlugin.Health.V1.HealthCheckResponse.Types.ServingStatus;
using StandardHealth = SsePlugin.Health.V1.Health;

namespace SsePlugin.Server.Health;

/// <summary>
/// The <c>List</c> method of the standard gRPC health service, beside the <c>Check</c> and <c>Watch</c> that
/// Grpc.AspNetCore.HealthChecks serves: every service and its status from one run of the checks, so that a client
/// such as <c>doctor</c> learns the connections' and the checks' names.
/// </summary>
/// <param name="checks">Runs the health checks.</param>
/// <param name="health">The services and the checks that decide each.</param>
internal sealed class HealthListService(HealthCheckService checks, IOptions<GrpcHealthChecksOptions> health)
    : StandardHealth.HealthBase
{
    public override async Task<HealthListResponse> List(HealthListRequest request, ServerCallContext context)
    {
        var report = await checks.CheckHealthAsync(context.CancellationToken).ConfigureAwait(false);
        var response = new HealthListResponse();
        foreach (var service in health.Value.Services)
        {
            // Degraded counts as serving, as in Check.
            var failing = report.Entries.Any(entry => entry.Value.Status == HealthStatus.Unhealthy
                && (service.HealthCheckPredicate?.Invoke(new HealthCheckMapContext(entry.Key, entry.Value.Tags))
                    ?? true));
            response.Statuses[service.Name] = new HealthCheckResponse
            {
                Status = failing ? ServingStatus.NotServing : ServingStatus.Serving,
            };
        }

        return response;
    }
}
