using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Rserve;
using Xunit.Abstractions;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// SsePlugin:Rserve:Addresses with two real Rserves on loopback: calls spread over both, go on when one stops, reach it
/// again when it returns, fail with Unavailable naming both when both are down; the health checks say so.
/// </summary>
public sealed class RserveAddressesTests(ITestOutputHelper output)
{
    // The Rserve a call's R process was forked from: its parent (field 4 of /proc/self/stat).
    private const string RserveOfTheCall =
        "as.numeric(strsplit(sub('^.*[)] ', '', readLines('/proc/self/stat')), ' ')[[1]][2])";

    [Fact]
    public async Task Calls_spread_over_two_Rserves_go_on_when_one_stops_and_reach_it_again_when_it_returns()
    {
        await using var first = await StartRserveAsync();
        var second = await StartRserveAsync();
        var secondPort = second.Port;
        var health = new HealthOfHost();
        await using var host = await StartHostAsync(health, null, first.Port, secondPort);
        try
        {
            // Both serve.
            var served = await CallManyAsync(host, 24);
            Assert.All(served, rserve => Assert.Contains(rserve, new[] { first.ProcessId, second.ProcessId }));
            Assert.True(served.Count(rserve => rserve == first.ProcessId) >= 4, Shares(served));
            Assert.True(served.Count(rserve => rserve == second.ProcessId) >= 4, Shares(served));
            Assert.Equal(HealthStatus.Healthy, (await health.CheckAsync()).Status);

            // One stops (its process and its R processes killed) under load.
            var outcomes = new ConcurrentQueue<StatusCode?>();
            using var loading = new CancellationTokenSource();
            var load = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => LoadAsync(host, outcomes, loading.Token)));
            await Task.Delay(1000);
            await second.DisposeAsync();
            var stoppedAfter = outcomes.Count;
            await Task.Delay(3000);
            await loading.CancelAsync();
            await load;
            var failures = outcomes.Where(outcome => outcome is not null).ToList();
            output.WriteLine(
                $"{outcomes.Count} calls under load, {stoppedAfter} before the stop; failed: {failures.Count} "
                + $"({string.Join(", ", failures)})");
            Assert.All(failures, status => Assert.Equal(StatusCode.Unavailable, status));
            // Four callers: about one call each in flight on the stopped Rserve.
            Assert.True(failures.Count <= 8, "More calls failed than were in flight on the stopped Rserve.");
            Assert.All(await CallManyAsync(host, 8), rserve => Assert.Equal(first.ProcessId, rserve));

            // The report's own status is its worst check's: that of the Rserve that stopped.
            var degraded = await health.CheckAsync();
            Assert.Equal(HealthStatus.Degraded, degraded.Entries["rserve"].Status);
            Assert.Contains($"127.0.0.1:{secondPort}", degraded.Entries["rserve"].Description);
            Assert.Equal(HealthStatus.Unhealthy, degraded.Entries[$"rserve:127.0.0.1:{secondPort}"].Status);
            Assert.Equal(HealthStatus.Healthy, degraded.Entries[$"rserve:127.0.0.1:{first.Port}"].Status);

            // It returns on the same port: taken back.
            second = await RserveProcess.StartAsync(new RserveProcessOptions { Port = secondPort });
            Assert.Equal(HealthStatus.Healthy, (await health.CheckAsync()).Status);
            var clock = Stopwatch.StartNew();
            while ((await CallManyAsync(host, 4)).All(rserve => rserve != second.ProcessId))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "No call reached the Rserve that returned.");
            }
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_Rserve_unreachable_at_start_is_named_and_skipped_and_with_none_left_calls_fail_naming_both()
    {
        var first = await StartRserveAsync();
        var nobody = RserveProcess.FreeLoopbackPort();
        var health = new HealthOfHost();
        var log = new LogCapture();
        await using var host = await StartHostAsync(health, log, first.Port, nobody);
        HealthReport degraded;
        try
        {
            await log.WaitForAsync("Rserve at", $"127.0.0.1:{nobody}", "cannot be used");
            Assert.All(await CallManyAsync(host, 8), rserve => Assert.Equal(first.ProcessId, rserve));
            degraded = await health.CheckAsync();
        }
        finally
        {
            await first.DisposeAsync();
        }

        var refused = await FailsAsync(() => CallAsync(host));
        var unhealthy = await health.CheckAsync();

        Assert.Equal(HealthStatus.Degraded, degraded.Entries["rserve"].Status);
        Assert.Equal(HealthStatus.Unhealthy, degraded.Entries[$"rserve:127.0.0.1:{nobody}"].Status);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("no Rserve of SsePlugin:Rserve:Addresses can be used", refused.Status.Detail);
        Assert.Contains($"127.0.0.1:{first.Port}", refused.Status.Detail);
        Assert.Contains($"127.0.0.1:{nobody}", refused.Status.Detail);
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Entries["rserve"].Status);
    }

    [Fact]
    public async Task Reused_sessions_spread_over_both_Rserves_and_over_one_that_returns()
    {
        await using var first = await StartRserveAsync();
        var second = await StartRserveAsync();
        var secondPort = second.Port;
        await using var host = await StartHostAsync(
            new HealthOfHost(), null, first.Port, secondPort, "--SsePlugin:Rserve:ReuseSessions", "true");
        try
        {
            var served = await CallManyAsync(host, 16);
            Assert.Contains(first.ProcessId, served);
            Assert.Contains(second.ProcessId, served);

            // The sessions kept on the stopped one are replaced on the other; once it is back (no call tries it, all
            // four sessions living on the other), the host finds it and spreads sessions over it again.
            await second.DisposeAsync();
            Assert.All(await CallManyAsync(host, 8), rserve => Assert.Equal(first.ProcessId, rserve));
            second = await RserveProcess.StartAsync(new RserveProcessOptions { Port = secondPort });
            var clock = Stopwatch.StartNew();
            while ((await CallManyAsync(host, 4)).All(rserve => rserve != second.ProcessId))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "No call reached the Rserve that returned.");
            }
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("--SsePlugin:Rserve:Addresses:1", "r2:x", "SsePlugin:Rserve:Addresses:1 is 'r2:x'; write host:port")]
    [InlineData("--rserve", "r2:6311", "SsePlugin:Rserve:Address and SsePlugin:Rserve:Addresses are both set")]
    public async Task A_malformed_address_or_Address_beside_Addresses_stops_the_executable_with_exit_code_2(
        string key, string value, string message)
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", "0", "--script-engine", "r", "--SsePlugin:Rserve:Addresses:0", "127.0.0.1:6311", key, value);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, printed);
    }

    private static Task<RserveProcess> StartRserveAsync() =>
        RserveProcess.StartAsync(new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });

    // A host whose R calls go to two Rserves: four sessions, a 10 s limit per call.
    private static Task<TestHost> StartHostAsync(
        HealthOfHost health, LogCapture? log, int firstPort, int secondPort, params string[] args) =>
        TestHost.StartAsync(
            [
                "--script-engine", "r",
                "--SsePlugin:Rserve:Addresses:0", $"127.0.0.1:{firstPort}",
                "--SsePlugin:Rserve:Addresses:1", $"127.0.0.1:{secondPort}",
                "--SsePlugin:Rserve:PoolSize", "4", "--SsePlugin:Rserve:TimeoutSeconds", "10", .. args,
            ],
            sse =>
            {
                log?.AddTo(sse);
                health.AddTo(sse);
            });

    // The Rserve (process id) that served one call, which takes a fifth of a second.
    private static async Task<int> CallAsync(TestHost host)
    {
        var answer = (await host.Client.EvaluateAsync(
            $"Sys.sleep(0.2); {RserveOfTheCall}", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]])))
            .EnsureSucceeded();
        return (int)answer.Numbers()[0];
    }

    // The Rserves that served so many calls, four at a time.
    private static async Task<List<int>> CallManyAsync(TestHost host, int calls)
    {
        var served = new ConcurrentQueue<int>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async lane =>
        {
            for (var call = lane; call < calls; call += 4)
            {
                served.Enqueue(await CallAsync(host));
            }
        }));
        return [.. served];
    }

    // Calls one after another until cancelled; each outcome is null (answered) or the call's status.
    private static async Task LoadAsync(TestHost host, ConcurrentQueue<StatusCode?> outcomes, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await CallAsync(host);
                outcomes.Enqueue(null);
            }
            catch (RpcException e)
            {
                outcomes.Enqueue(e.StatusCode);
            }
        }
    }

    private static string Shares(List<int> served) =>
        string.Join(", ", served.GroupBy(rserve => rserve).Select(g => string.Create(
            CultureInfo.InvariantCulture, $"Rserve {g.Key}: {g.Count()} calls")));

    /// <summary>The host's registered health checks, run through its own <see cref="HealthCheckService"/>.</summary>
    private sealed class HealthOfHost : IHostedService
    {
        private HealthCheckService? _service;

        public Task<HealthReport> CheckAsync() => _service!.CheckHealthAsync();

        public void AddTo(ISsePluginBuilder sse) => sse.Services.AddHostedService(provider =>
        {
            _service = provider.GetRequiredService<HealthCheckService>();
            return this;
        });

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
