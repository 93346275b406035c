using Microsoft.Extensions.Diagnostics.HealthChecks;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Health;

/// <summary>Unhealthy from the moment the host is told to stop: it is draining, and every service is
/// <c>NOT_SERVING</c>.</summary>
/// <param name="drain">The host's drain.</param>
internal sealed class DrainHealthCheck(HostDrain drain) : IHealthCheck
{
    /// <summary>The check's name, also a health service of its own.</summary>
    public const string Name = "draining";

    private static readonly Task<HealthCheckResult> Serving = Task.FromResult(HealthCheckResult.Healthy());

    public Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default) =>
        drain.IsDraining
            ? Task.FromResult(HealthCheckResult.Unhealthy(
                $"The host is stopping: it takes new calls for {drain.Delay.TotalSeconds:0} s after it was told to "
                + "stop (SsePlugin:DrainDelaySeconds), then none."))
            : Serving;
}
