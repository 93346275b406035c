using Grpc.AspNetCore.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Health;

/// <summary>
/// Names the services of the gRPC health service and the checks that decide each (see <see cref="SseHealthTags"/>):
/// <c>""</c>, the whole host; each analytic connection by its name; each check by its own name, unless it is the check
/// of a script engine no connection runs.
/// </summary>
internal static class HealthServiceMap
{
    /// <summary>Maps the services.</summary>
    /// <param name="health">The gRPC health service's options.</param>
    /// <param name="connections">The analytic connections.</param>
    /// <param name="checks">The registered health checks.</param>
    /// <param name="engines">The names of the registered script engines.</param>
    public static void Map(
        GrpcHealthChecksOptions health,
        ConnectionRegistry connections,
        HealthCheckServiceOptions checks,
        IEnumerable<string> engines)
    {
        var engineNames = engines.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var used = connections.All.Select(connection => connection.EngineInUse).OfType<string>()
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

        // A detail is only its own service; an engine's check counts where that engine runs scripts; others count
        // everywhere.
        bool Counts(HealthCheckMapContext check, Func<string, bool> runsScriptsIn) =>
            !check.Tags.Contains(SseHealthTags.Detail)
            && (check.Tags.FirstOrDefault(engineNames.Contains) is not { } engine || runsScriptsIn(engine));

        health.Services.Map(string.Empty, check => Counts(check, used.Contains));
        foreach (var connection in connections.All)
        {
            var runs = connection.EngineInUse;
            health.Services.Map(connection.Name, check => Counts(
                check, engine => engine.Equals(runs, StringComparison.OrdinalIgnoreCase)));
        }

        // The checks of an engine no connection runs (R registered, every connection in JavaScript) are no service:
        // a doctor or a probe would otherwise report an Rserve nobody needs.
        foreach (var registration in checks.Registrations.Where(check =>
            check.Tags.FirstOrDefault(engineNames.Contains) is not { } engine || used.Contains(engine)))
        {
            health.Services.Map(registration.Name, check => check.Name == registration.Name);
        }
    }

}
