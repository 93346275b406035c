using System.Diagnostics;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// Scripts that try to escape the JavaScript limits: each runs on a host of its own, and the host must end it within
/// about a second of its time limit or of Qlik's cancellation, free its processor and go on serving.
/// </summary>
[Collection(SharedHost.Name)]
public sealed class JavaScriptLimitTests
{
    private static readonly (string, DataType)[] OneNumber = [("value", DataType.Numeric)];

    // About 0.1-0.3 s of backtracking per row on the machines the tests run on: well under the 1 s a single match may
    // take, so only the call's time limit or its cancellation can end a call of many such rows.
    private const string SlowRegex = "/^(a|aa)+$/.test('a'.repeat(29) + 'b') ? 1 : 0";

    [Fact]
    public async Task Atomics_wait_is_not_offered_so_blocking_calls_cannot_take_every_processor()
    {
        // A process of its own: on a host that offered Atomics.wait, the blocked threads would never come back.
        await using var own = await ChildHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "5");
        var blocking = Enumerable.Range(0, Environment.ProcessorCount + 1).Select(_ => FailsAsync(() => own.Client.EvaluateAsync(
            "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)", FunctionType.Tensor, DataType.Numeric, OneNumber, Bundle([Numeric(1)]))));

        var errors = await Task.WhenAll(blocking);
        var globals = await own.Client.EvaluateAsync(
            "[typeof SharedArrayBuffer, typeof Atomics, typeof ShadowRealm].join()", FunctionType.Tensor, DataType.String, OneNumber, Bundle([Numeric(1)]));

        Assert.All(errors, error => Assert.Equal(StatusCode.InvalidArgument, error.StatusCode));
        Assert.All(errors, error => Assert.Contains("Atomics is not defined", error.Status.Detail));
        Assert.Equal(["undefined,undefined,undefined"], globals.Strings());
    }

    [Fact]
    public async Task Time_spent_matching_regular_expressions_counts_against_the_call()
    {
        await using var own = await TestHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "2");
        await AnswersAsync(own.Client);
        var started = Stopwatch.GetTimestamp();

        var error = await FailsAsync(() => own.Client.EvaluateAsync(
            SlowRegex, FunctionType.Tensor, DataType.Numeric, OneNumber, Bundle(Enumerable.Range(0, 300).Select(i => Numeric(i)))));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("longer than the 2 s allowed per call (SsePlugin:JavaScript:TimeoutSeconds", error.Status.Detail);
        // Within about a second of the limit; more for a loaded machine. Jint's own check, every 64 statements, came
        // 32 rows (several seconds) late.
        Assert.True(elapsed < TimeSpan.FromSeconds(4.5), $"The call ended {elapsed.TotalSeconds:0.0} s after it started.");
    }

    [Fact]
    public async Task A_cancelled_call_of_regular_expressions_frees_its_processor_at_once()
    {
        var log = new LogCapture();
        await using var own = await TestHost.StartAsync(["--SsePlugin:JavaScript:TimeoutSeconds", "60"], log.AddTo);
        using var cancel = new CancellationTokenSource();
        var calls = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => own.Client.EvaluateScript(ScriptHeaders(SlowRegex, FunctionType.Tensor, DataType.Numeric, OneNumber), cancellationToken: cancel.Token))
            .ToList();
        foreach (var call in calls)
        {
            await call.RequestStream.WriteAsync(Bundle(Enumerable.Range(0, 1000).Select(i => Numeric(i))));
            await call.RequestStream.CompleteAsync();
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        await cancel.CancelAsync();
        var ended = await Task.WhenAll(calls.Select(call => FailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None))));
        calls.ForEach(call => call.Dispose());
        using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var answer = await CallAsync(
            token => own.Client.EvaluateScript(ScriptHeaders("args[0] * 2", FunctionType.Tensor, DataType.Numeric, OneNumber), cancellationToken: probe.Token),
            [Bundle([Numeric(21)])]);

        Assert.All(ended, error => Assert.True(error.StatusCode == StatusCode.Cancelled, error.Status.ToString()));
        Assert.Equal([42], answer.Numbers());
        // The host logs each call as it ends it: cancelled, not a failed write to a call already over (Unknown).
        for (var waited = Stopwatch.StartNew(); CancelledCalls(log) < calls.Count && waited.Elapsed < CallTimeout;)
        {
            await Task.Delay(20);
        }

        Assert.True(CancelledCalls(log) == calls.Count, string.Join('\n', log.Messages));
        Assert.DoesNotContain(log.Messages, message => message.Contains("Unknown", StringComparison.Ordinal));
    }

    private static async Task AnswersAsync(Connector.ConnectorClient client)
    {
        var answer = await client.EvaluateAsync("args[0] * 2", FunctionType.Tensor, DataType.Numeric, OneNumber, Bundle([Numeric(21)]));
        Assert.Equal([42], answer.Numbers());
    }

    private static int CancelledCalls(LogCapture log) =>
        log.Messages.Count(message => message.Contains("ScriptEval: the call was cancelled by the client", StringComparison.Ordinal));
}
