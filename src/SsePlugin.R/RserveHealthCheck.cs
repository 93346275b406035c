using Microsoft.Extensions.Diagnostics.HealthChecks;
using SsePlugin.Server.Health;

namespace SsePlugin.R;

/// <summary>
/// Whether R calls can run: with no address, over every Rserve (<c>rserve</c>: healthy when all can be used, degraded
/// when some cannot, unhealthy when none can or when the Rserve the host runs is not running); with one, that Rserve's
/// (<c>rserve:HOST:PORT</c>). Each check opens and closes one connection per Rserve, within
/// <see cref="ROptions.ConnectTimeoutSeconds"/>, shared by the checks of one report; no R code runs.
/// </summary>
/// <param name="supervisor">Knows the Rserves and checks them.</param>
/// <param name="address">The one Rserve to check; null for all.</param>
internal sealed class RserveHealthCheck(RserveSupervisor supervisor, RserveAddress? address) : IHealthCheck
{
    /// <summary>The name of the check over every Rserve.</summary>
    public const string Name = "rserve";

    /// <summary>The tags of every check: the R engine's name (<see cref="RScriptEngine.Name"/>).</summary>
    public static readonly string[] Tags = [SseHealthTags.R];

    /// <summary>The tags of the check of one Rserve: the engine's name, and a detail of the overall check.</summary>
    public static readonly string[] DetailTags = [SseHealthTags.R, SseHealthTags.Detail];

    public async Task<HealthCheckResult> CheckHealthAsync(
        HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (address is not null)
        {
            await supervisor.CheckAsync(address).WaitAsync(cancellationToken).ConfigureAwait(false);
            return address.Problem is { } problem
                ? new HealthCheckResult(context.Registration.FailureStatus, problem)
                : HealthCheckResult.Healthy($"Rserve at {address.Name} can be used.");
        }

        if (supervisor.IsHostRun)
        {
            return supervisor.IsRunning
                ? HealthCheckResult.Healthy("The Rserve the host runs is running.")
                : HealthCheckResult.Unhealthy("The Rserve the host runs is not running; the host restarts it.");
        }

        var addresses = supervisor.Addresses;
        await Task.WhenAll(addresses.Select(supervisor.CheckAsync)).WaitAsync(cancellationToken).ConfigureAwait(false);
        var down = addresses.Where(a => a.Problem is not null).ToList();
        var usable = string.Join(", ", addresses.Except(down).Select(a => a.Name));
        var problems = string.Join(" ", down.Select(a => a.Problem));
        return down.Count == 0 ? HealthCheckResult.Healthy($"Every Rserve can be used: {usable}.")
            : down.Count < addresses.Count ? HealthCheckResult.Degraded(
                $"{down.Count} of {addresses.Count} Rserves cannot be used, R calls go to {usable}. {problems}")
            : HealthCheckResult.Unhealthy($"No Rserve can be used. {problems}");
    }
}
