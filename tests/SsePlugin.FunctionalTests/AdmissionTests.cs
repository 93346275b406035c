using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// Clients that hold slots without using them, and floods of failing calls: the host shares its slots out among
/// connections, ends calls whose client keeps them waiting, and keeps its log to a few lines a second.
/// </summary>
public sealed class AdmissionTests
{
    [Fact]
    public async Task Idle_calls_on_three_connections_leave_slots_for_a_bystander_on_another()
    {
        // The defaults: 256 calls at once, each connection at most 100 (Kestrel's streams per connection).
        await using var host = await TestHost.StartAsync();
        using var stop = new CancellationTokenSource(CallTimeout);
        // Each attacker is a channel of one connection.
        var attackers = Enumerable.Range(0, 3)
            .Select(_ => host.Connect(new SocketsHttpHandler { EnableMultipleHttp2Connections = false }));
        var calls = attackers
            .SelectMany(attacker => Enumerable.Range(0, 100)
                .Select(_ => attacker.Connector.ExecuteFunction(Headers(5), cancellationToken: stop.Token)))
            .ToList();
        try
        {
            // A refused call ends at once; an admitted one waits for rows that never come. Once 300 - 256 calls are
            // refused, 256 would hold every slot were the slots not shared out.
            var ends = calls.Select(call => call.ResponseStream.MoveNext(CancellationToken.None)).ToList();
            while (ends.Count(end => end.IsCompleted) < 300 - 256)
            {
                await Task.Delay(20, stop.Token);
            }

            for (var i = 0; i < 3; i++)
            {
                await host.Client.AssertServesAsync();
            }

            var refused = (RpcException)ends.First(end => end.IsFaulted).Exception!.InnerException!;
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains(
                "the last 32 go to connections running fewer, so that one client cannot take them all",
                refused.Status.Detail,
                StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            calls.ForEach(call => call.Dispose());
        }
    }

    [Fact]
    public async Task A_call_whose_client_sends_no_rows_ends_after_ClientIdleTimeoutSeconds_and_frees_its_slot()
    {
        await using var host = await TestHost.StartAsync(
            "--SsePlugin:MaxConcurrentCalls", "1", "--SsePlugin:ClientIdleTimeoutSeconds", "1");
        using var timeout = new CancellationTokenSource(CallTimeout);
        using var idle = host.Client.Connector.ExecuteFunction(Headers(5), cancellationToken: timeout.Token);

        var error = await FailsAsync(() => idle.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(
            "SumOfRows: the client sent no rows for 1 s, so the call was ended to free its slot "
            + "(SsePlugin:ClientIdleTimeoutSeconds). Qlik's engine never pauses this long; raise the setting only if a "
            + "client of yours must.",
            error.Status.Detail);
        await host.Client.AssertServesAsync();
    }

    [Fact]
    public async Task A_call_whose_client_takes_no_answer_ends_after_ClientIdleTimeoutSeconds_and_frees_its_slot()
    {
        var log = new LogCapture();
        await using var host = await TestHost.StartAsync(
            [
                "--SsePlugin:MaxConcurrentCalls", "1", "--SsePlugin:ClientIdleTimeoutSeconds", "3",
                "--Serilog:MinimumLevel:Default", "Information",
            ],
            log.AddTo);
        using var timeout = new CancellationTokenSource(CallTimeout);
        using var stuck = host.Client.Connector.ExecuteFunction(Headers(0), cancellationToken: timeout.Token);
        var text = Bundle([Text(new string('x', 1_000_000))]).Message;

        // HelloWorld echoes each megabyte; the client reads none of it, so the host's writes wait on flow control.
        // (3 s, so that a loaded machine does not keep the first row from arriving for as long.)
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await stuck.RequestStream.WriteAsync(text);
            }
        });
        var line = await log.WaitForAsync("HelloWorld", "the client took no answer for 3 s");

        Assert.Contains("DeadlineExceeded", line, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => writing);
        await host.Client.AssertServesAsync();
    }

    [Fact]
    public async Task Calls_whose_client_trickles_tiny_messages_end_after_MaxClientWaitSeconds_and_free_every_slot()
    {
        var log = new LogCapture();
        string[] settings =
        [
            "--SsePlugin:MaxConcurrentCalls", "4", "--SsePlugin:ClientIdleTimeoutSeconds", "5",
            "--SsePlugin:MaxClientWaitSeconds", "16",
        ];
        await using var host = await TestHost.StartAsync(settings, log.AddTo);
        var header = Convert.ToBase64String(new FunctionRequestHeader { FunctionId = 5 }.ToByteArray());
        using var stop = new CancellationTokenSource(CallTimeout);

        // Four calls, every slot, each sent an empty message every 0.25 s: never idle for 5 s, and never any rows.
        // (Seconds, so that a loaded machine neither keeps the calls idle that long nor misses the slots taken: with
        // calls ended after 8 s, the bystander once saw no refusal while the whole suite ran.)
        var trickling = RawHttp2.TrickleAsync(
            host.Address,
            "/qlik.sse.Connector/ExecuteFunction",
            4,
            TimeSpan.FromMilliseconds(250),
            stop.Token,
            ("qlik-functionrequestheader-bin", header));
        var refused = await ServedAsync(host, until: StatusCode.ResourceExhausted, stop.Token);
        var served = await ServedAsync(host, until: StatusCode.OK, stop.Token);
        var servedWhileTrickling = !stop.IsCancellationRequested;

        Assert.Equal(StatusCode.ResourceExhausted, refused);
        Assert.True(servedWhileTrickling, "The trickled calls kept every slot until the client stopped.");
        Assert.Equal(StatusCode.OK, served);
        Assert.Equal(4, await trickling);
        await log.WaitForAsync(
            "SumOfRows: the client kept the call waiting for rows 16 s in all, so the call was ended to free its slot "
            + "(SsePlugin:MaxClientWaitSeconds).");
    }

    [Fact]
    public async Task A_flood_of_reset_streams_costs_a_few_log_lines_a_second_and_a_lone_failure_still_gets_its_own()
    {
        var log = new LogCapture();
        await using var host = await TestHost.StartAsync(["--Serilog:MinimumLevel:Default", "Information"], log.AddTo);
        var header = Convert.ToBase64String(new FunctionRequestHeader { FunctionId = 5 }.ToByteArray());
        var before = log.Events.Count;
        var flood = Stopwatch.StartNew();

        // Kestrel tracks a reset stream until its call has ended, and ends a connection tracking too many: the flood
        // comes over 25 connections of 200 streams.
        var opened = 0;
        for (var connection = 0; connection < 25; connection++)
        {
            opened += await RawHttp2.OpenAndResetStreamsAsync(
                host.Address, "/qlik.sse.Connector/ExecuteFunction", 200, ("qlik-functionrequestheader-bin", header));
        }

        // Every failed call is either logged or counted in a summary line, within a second of failing.
        int Failed() => CallLines(log).Count + log.Events
            .Where(e => e.Properties.ContainsKey("Statuses"))
            .Sum(e => int.Parse(e.Properties["Count"].ToString(), CultureInfo.InvariantCulture));
        for (var (counted, stable) = (-1, 0); stable < 15; stable = Failed() == counted ? stable + 1 : 0)
        {
            counted = Failed();
            await Task.Delay(100);
        }

        var seconds = (int)flood.Elapsed.TotalSeconds + 2;
        Assert.True(Failed() >= 500, $"Only {Failed()} of {opened} reset streams reached the host as failed calls.");
        Assert.InRange(CallLines(log).Count, 1, 20 * seconds);
        Assert.InRange(log.Events.Count - before, 1, 25 * seconds);

        // A new second: a single failure has its line.
        await Task.Delay(1100);
        await FailsAsync(() => host.Client.ExecuteAsync(999, Bundle([Numeric(1)])));
        await log.WaitForAsync("Function id 999 is not a function of this plugin");
    }

    [Fact]
    public async Task A_ClientIdleTimeoutSeconds_out_of_range_stops_the_executable_with_one_clear_line()
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", "0", "--SsePlugin:ClientIdleTimeoutSeconds", "-1");

        Assert.Equal(2, exitCode);
        Assert.Contains("SsePlugin:ClientIdleTimeoutSeconds must be from 0 (no limit) to 86400 (a day).", printed);
        Assert.DoesNotContain("Now listening", printed);
    }

    // Calls as a bystander on a connection of its own until a call ends with the given status, or the token fires.
    private static async Task<StatusCode> ServedAsync(TestHost host, StatusCode until, CancellationToken stop)
    {
        var bystander = host.Connect(handler: null);
        while (true)
        {
            var status = StatusCode.OK;
            try
            {
                await bystander.AssertServesAsync();
            }
            catch (RpcException e) when (!stop.IsCancellationRequested)
            {
                status = e.StatusCode;
            }

            if (status == until || stop.IsCancellationRequested)
            {
                return status;
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    private static List<Serilog.Events.LogEvent> CallLines(LogCapture log) =>
        [.. log.Events.Where(e => e.Properties.ContainsKey("Rpc"))];
}
