using System.Globalization;
using Grpc.Core;
using Serilog.Events;
using Serilog.Formatting.Display;
using SsePlugin.FunctionalTests.Infrastructure;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>The one log line per call, as a Serilog sink of the host receives it.</summary>
public sealed class CallLogTests
{
    [Fact]
    public async Task A_call_line_carries_its_status_and_escapes_control_characters_a_caller_sent()
    {
        var log = new LogCapture();
        await using var host = await TestHost.StartAsync(["--Serilog:MinimumLevel:Default", "Information"], log.AddTo);

        await host.Client.ExecuteAsync(
            Headers(5, appId: "app\n[00:00:00 INF] forged line", userId: "user\u001b[2J"), [Bundle([Numeric(1, 2)])]);
        var error = await FailsAsync(
            () => host.Client.ExecuteAsync(Headers(5, appId: "second\r\napp"), [Bundle([TextAndNumber("x\ny", 1)])]));

        var calls = log.Events.Where(e => e.Properties.ContainsKey("Rpc")).ToList();
        var lines = calls.Select(AsConsoleShowsIt).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal("OK", calls[0].Properties["Status"].ToString());
        Assert.Equal("\"main\"", calls[0].Properties["Connection"].ToString());
        Assert.Equal("InvalidArgument", calls[1].Properties["Status"].ToString());
        Assert.Contains(
            @"app app\n[00:00:00 INF] forged line user user\u001b[2J from", lines[0], StringComparison.Ordinal);
        Assert.Contains(@"app second\r\napp", lines[1], StringComparison.Ordinal);
        Assert.Contains(@"holds the text 'x\ny'", lines[1], StringComparison.Ordinal);
        Assert.All(lines, line => Assert.DoesNotContain('\n', line));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("holds the text 'x\ny'", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_past_the_clients_deadline_is_logged_as_such_not_as_cancelled()
    {
        var log = new LogCapture();
        await using var host = await TestHost.StartAsync(["--Serilog:MinimumLevel:Default", "Information"], log.AddTo);

        using var call = host.Client.Connector.ExecuteFunction(Headers(108), deadline: DateTime.UtcNow.AddSeconds(3));
        await call.RequestStream.WriteAsync(Bundle([Numeric(1)]).Message);
        await call.RequestStream.CompleteAsync();
        var error = await FailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await log.WaitForAsync("the call ran past the deadline the client set");
        Assert.Equal(
            "DeadlineExceeded",
            log.Events.Single(e => e.Properties.ContainsKey("Rpc")).Properties["Status"].ToString());
    }

    // The message as the host's console template ({Message:lj}) writes it.
    private static string AsConsoleShowsIt(LogEvent logEvent)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        new MessageTemplateTextFormatter("{Message:lj}", CultureInfo.InvariantCulture).Format(logEvent, text);
        return text.ToString();
    }
}
