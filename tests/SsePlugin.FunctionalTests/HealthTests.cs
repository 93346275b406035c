using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Server.Health;

using HealthClient = Grpc.Health.V1.Health.HealthClient;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The gRPC health service on every analytic connection's port: the host (<c>""</c>), each connection by its name,
/// each check by its own; a script engine's checks decide the connections running that engine's scripts, a detail
/// check only itself.
/// </summary>
public sealed class HealthTests
{
    [Fact]
    public async Task An_engine_s_checks_decide_the_connections_running_its_scripts_and_a_detail_only_itself()
    {
        var javaScriptDown = false;
        var rDown = false;
        await using var host = await TestHost.StartAsync(
            ["--SsePlugin:Connections:Other:Port", "0", "--SsePlugin:Connections:Other:ScriptEngine", "r"],
            sse => sse.Services
                // No Rserve runs here: the R engine's own checks make way for the test's, which it turns on and off.
                .PostConfigure<HealthCheckServiceOptions>(checks => RemoveRserveChecks(checks.Registrations))
                .AddHealthChecks()
                .AddCheck("js", () => Result(javaScriptDown), [SseHealthTags.JavaScript])
                .AddCheck("r-pool", () => Result(rDown), [SseHealthTags.R])
                .AddCheck("rserve:127.0.0.1:6399", () => Result(down: true), [SseHealthTags.R, SseHealthTags.Detail]));
        var health = new HealthClient(host.OpenChannel(host.Addresses[1]));

        var allWell = await StatusesAsync(health, "", "main", "Other", "rserve:127.0.0.1:6399", "draining");
        rDown = true;
        var rIsDown = await StatusesAsync(health, "", "main", "Other");
        (rDown, javaScriptDown) = (false, true);
        var javaScriptIsDown = await StatusesAsync(health, "", "main", "Other", "js");
        var unknown = await Assert.ThrowsAsync<RpcException>(() => StatusesAsync(health, "nothing"));

        ServingStatus[] serving = [ServingStatus.Serving, ServingStatus.Serving, ServingStatus.Serving];
        Assert.Equal([.. serving, ServingStatus.NotServing, ServingStatus.Serving], allWell);
        Assert.Equal([ServingStatus.NotServing, ServingStatus.Serving, ServingStatus.NotServing], rIsDown);
        Assert.Equal(
            [ServingStatus.NotServing, ServingStatus.NotServing, ServingStatus.Serving, ServingStatus.NotServing],
            javaScriptIsDown);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Every_connection_s_port_serves_the_health_of_the_whole_host()
    {
        await using var host = await TestHost.StartAsync("--SsePlugin:Connections:Other:Port", "0");

        foreach (var address in host.Addresses)
        {
            var health = new HealthClient(host.OpenChannel(address));
            Assert.Equal(
                [ServingStatus.Serving, ServingStatus.Serving, ServingStatus.Serving],
                await StatusesAsync(health, "", "main", "Other"));
        }
    }

    [Fact]
    public async Task Watch_hears_a_connection_go_not_serving_when_its_engine_s_check_fails()
    {
        var javaScriptDown = false;
        await using var host = await TestHost.StartAsync(
            [],
            sse => sse.Services.AddHealthChecks().AddCheck(
                "js", () => Result(javaScriptDown), [SseHealthTags.JavaScript]));
        using var timeout = new CancellationTokenSource(SseCalls.CallTimeout);
        using var watch = new HealthClient(host.OpenChannel(host.Address))
            .Watch(new HealthCheckRequest { Service = "main" }, cancellationToken: timeout.Token);
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        var first = watch.ResponseStream.Current.Status;

        javaScriptDown = true;
        var heard = new List<ServingStatus>();
        while (heard.LastOrDefault() != ServingStatus.NotServing && await watch.ResponseStream.MoveNext(timeout.Token))
        {
            heard.Add(watch.ResponseStream.Current.Status);
        }

        Assert.Equal(ServingStatus.Serving, first);
        Assert.Equal(ServingStatus.NotServing, heard.Last());
    }

    // The R engine's checks of the default Rserve (127.0.0.1:6311).
    private static void RemoveRserveChecks(ICollection<HealthCheckRegistration> checks)
    {
        foreach (var check in checks.Where(c => c.Name is "rserve" or "rserve:127.0.0.1:6311").ToList())
        {
            checks.Remove(check);
        }
    }

    private static HealthCheckResult Result(bool down) =>
        down ? HealthCheckResult.Unhealthy("down") : HealthCheckResult.Healthy();

    private static async Task<ServingStatus[]> StatusesAsync(HealthClient health, params string[] services)
    {
        var statuses = new List<ServingStatus>();
        foreach (var service in services)
        {
            var response = await health.CheckAsync(
                new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow + SseCalls.CallTimeout);
            statuses.Add(response.Status);
        }

        return [.. statuses];
    }
}
