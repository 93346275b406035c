using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Health.V1;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;
using HealthClient = Grpc.Health.V1.Health.HealthClient;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The host executable stopped as a service manager or an administrator stops it, with real signals: it drains (health
/// NOT_SERVING, calls still taken for the drain delay), lets running calls finish and exits 0; under systemd it tells
/// the manager when it is ready and when it stops.
/// </summary>
public sealed class DrainTests
{
    [Fact]
    public async Task A_stopping_host_answers_not_serving_takes_calls_for_the_delay_and_lets_a_running_call_finish()
    {
        await using var host = await ChildHost.StartAsync();
        using var timeout = new CancellationTokenSource(CallTimeout);
        var health = new HealthClient(host.Channel);
        using var watch = health.Watch(new HealthCheckRequest(), cancellationToken: timeout.Token);
        Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        var watchedBefore = watch.ResponseStream.Current.Status;
        using var running = host.Client.Connector.ExecuteFunction(Headers(5, cardinality: 2),
            cancellationToken: timeout.Token);
        await running.RequestStream.WriteAsync(Bundle([Numeric(1, 2)]).Message);
        Assert.True(await running.ResponseStream.MoveNext(timeout.Token));

        await host.SignalAsync("TERM");

        // The health publisher may repeat SERVING once more, published just before the signal came.
        var watchedDraining = ServingStatus.Unknown;
        while (watchedDraining != ServingStatus.NotServing && await watch.ResponseStream.MoveNext(timeout.Token))
        {
            watchedDraining = watch.ResponseStream.Current.Status;
        }

        var checkedDraining = (await health.CheckAsync(new HealthCheckRequest(), cancellationToken: timeout.Token))
            .Status;
        using var newcomer = new SseClient(new Uri(host.Address));
        var takenWhileDraining = await newcomer.ExecuteAsync(5, Bundle([Numeric(4, 5)]));
        var stillDraining = !host.Output.Any(line => line.Contains("Stopped taking calls", StringComparison.Ordinal));
        var stoppedTaking = await host.WaitForLineAsync("Stopped taking calls; waiting up to 30 s for 1 running calls");
        await running.RequestStream.WriteAsync(Bundle([Numeric(3, 4)]).Message);
        await running.RequestStream.CompleteAsync();
        var rest = await QlikCalls.ReadAllAsync(running, timeout.Token);
        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(ServingStatus.Serving, watchedBefore);
        Assert.Equal(ServingStatus.NotServing, watchedDraining);
        Assert.Equal(ServingStatus.NotServing, checkedDraining);
        Assert.Equal([9], takenWhileDraining.Numbers());
        Assert.True(stillDraining, "The call was meant to come during the drain delay; it came after.");
        Assert.NotNull(stoppedTaking);
        Assert.Equal([7], rest.Numbers());
        Assert.Equal(0, exitCode);
        Assert.Contains(host.Output, line => line.EndsWith(
            "Draining: health is NOT_SERVING; new calls taken for 5 s more (SsePlugin:DrainDelaySeconds; Ctrl+C or "
                + "SIGTERM again stops taking them at once)",
            StringComparison.Ordinal));
        Assert.Contains(host.Output, line => line.Contains("] Stopped, ", StringComparison.Ordinal));
        Assert.Contains(host.Output, line => line.EndsWith(
            "new calls taken for 5 s more (SsePlugin:DrainDelaySeconds), then running calls get up to 30 s "
                + "(shutdownTimeoutSeconds)",
            StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_signal_during_the_drain_delay_stops_taking_calls_at_once()
    {
        await using var host = await ChildHost.StartAsync("--SsePlugin:DrainDelaySeconds", "600");

        // Ctrl+C in the console, then SIGTERM.
        await host.SignalAsync("INT");
        await host.WaitForLineAsync("SIGTERM again stops taking them at once)");
        await host.SignalAsync("TERM");
        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(0, exitCode);
        Assert.Contains(host.Output, line => line.EndsWith(
            "Told to stop again: the rest of the drain delay is skipped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Under_systemd_ready_comes_once_every_port_answers_and_stopping_when_the_host_drains()
    {
        var folder = Directory.CreateTempSubdirectory("sse-notify-");
        try
        {
            using var manager = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            var socketPath = Path.Combine(folder.FullName, "notify");
            manager.Bind(new UnixDomainSocketEndPoint(socketPath));
            int[] ports = [FreePort(), FreePort()];
            await using var host = ChildProcess.Start(
                "dotnet",
                [
                    typeof(SsePluginHost).Assembly.Location, "--port", Text(ports[0]),
                    "--SsePlugin:Connections:Other:Port", Text(ports[1]), "--SsePlugin:DrainDelaySeconds", "1",
                ],
                environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath });
            using var timeout = new CancellationTokenSource(CallTimeout);

            var ready = await ReceiveAsync(manager, timeout.Token);
            var functions = new List<int>();
            foreach (var port in ports)
            {
                using var client = new SseClient(new Uri($"http://127.0.0.1:{port}"));
                var capabilities = await client.GetCapabilitiesAsync(timeout.Token);
                functions.Add(capabilities.Functions.Count);
            }

            await host.SignalAsync("TERM");
            var stopping = await ReceiveAsync(manager, timeout.Token);
            var exitCode = await host.WaitForExitAsync(CallTimeout);

            Assert.Equal("READY=1", ready);
            Assert.All(functions, count => Assert.True(count > 0));
            Assert.Equal("STOPPING=1", stopping);
            Assert.Equal(0, exitCode);
            // The journal gets plain lines: no terminal colours when the output is not a terminal.
            Assert.Contains(
                host.Lines, line => line.Contains("Connection Other on 127.0.0.1:", StringComparison.Ordinal));
            Assert.DoesNotContain(host.Lines, line => line.Contains('\u001b', StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("-1", "SsePlugin:DrainDelaySeconds must be from 0 (none) to 3600 (an hour).")]
    [InlineData("soon", "A setting cannot be used: Failed to convert configuration value 'soon' at "
        + "'SsePlugin:DrainDelaySeconds' to type 'System.Int32'")]
    public async Task A_bad_drain_delay_stops_the_executable_with_one_clear_line(string delay, string message)
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", "0", "--SsePlugin:DrainDelaySeconds", delay);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, printed);
        Assert.DoesNotContain("   at ", printed);
        Assert.DoesNotContain("Now listening", printed);
    }

    private static string Text(int number) => number.ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> ReceiveAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var length = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        return Encoding.UTF8.GetString(buffer, 0, length).Trim();
    }
}
