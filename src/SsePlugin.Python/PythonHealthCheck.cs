using Microsoft.Extensions.Diagnostics.HealthChecks;
using SsePlugin.Server.Health;

namespace SsePlugin.Python;

/// <summary>Whether Python calls can run (<c>python</c>): the host's Python worker runs.</summary>
/// <param name="workers">The worker.</param>
internal sealed class PythonHealthCheck(PythonWorkers workers) : IHealthCheck
{
    /// <summary>The check's name.</summary>
    public const string Name = "python";

    /// <summary>The check's tags: the Python engine's name.</summary>
    public static readonly string[] Tags = [SseHealthTags.Python];

    public Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(workers.IsRunning
            ? HealthCheckResult.Healthy("The Python worker runs.")
            : HealthCheckResult.Unhealthy("The Python worker is not running; the host starts it again."));
}
