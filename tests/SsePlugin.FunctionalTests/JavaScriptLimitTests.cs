using System.Diagnostics;
using Grpc.Core;
using SsePlugin.Client;
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
    private static readonly (string, SseDataType)[] OneNumber = [("value", SseDataType.Numeric)];

    // Each row splits a text at 100 places, each found after a few milliseconds of backtracking, about 0.6 s in all:
    // every match ends well within the 1 s it may take, so only the call's time limit or its cancellation can end a
    // call of many such rows. Only a check before every statement ends it within a row: Jint's own check, every 64
    // statements, comes at the 32nd row.
    private const string ManySlowMatches = "const text = ('a'.repeat(27) + 'b').repeat(80); ";

    // Texts on which a catastrophic pattern backtracks for about 0.05 s each (half a million ways to split the a's),
    // well within the 1 s a match may take even on a loaded machine; 400 of them take 20 s or more.
    private const string ManyCatastrophicMatches =
        "const texts = Array(400).fill('a'.repeat(28) + 'b'), re = /^(a|aa)+$/; ";

    private const string SlowRegex = "('a'.repeat(24) + 'b').repeat(100).split(/(?:a|aa)+c|b/).length";

    [Fact]
    public async Task Atomics_wait_is_not_offered_so_blocking_calls_cannot_take_every_processor()
    {
        // A process of its own: on a host that offered Atomics.wait, the blocked threads would never come back.
        await using var own = await ChildHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "5");
        const string wait = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)";
        var blocking = Enumerable.Range(0, Environment.ProcessorCount + 1)
            .Select(_ => FailsAsync(() => EvaluateAsync(own.Client, wait, 1)));

        var errors = await Task.WhenAll(blocking);
        var globals = await EvaluateAsync(own.Client,
            "[typeof SharedArrayBuffer, typeof Atomics, typeof ShadowRealm] + ''", 1);

        Assert.All(errors, error => Assert.Equal(StatusCode.InvalidArgument, error.StatusCode));
        Assert.All(errors, error => Assert.Contains("Atomics is not defined", error.Status.Detail));
        Assert.Equal(["undefined,undefined,undefined"], globals.Strings());
        await AnswersAsync(own.Client);
    }

    [Fact]
    public async Task Time_spent_matching_regular_expressions_counts_against_the_call()
    {
        await using var own = await TestHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "2");
        await AnswersAsync(own.Client);
        var started = Stopwatch.GetTimestamp();

        var error = await FailsAsync(() => EvaluateAsync(own.Client, SlowRegex, 300));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("than the 2 s allowed per call (SsePlugin:JavaScript:TimeoutSeconds", error.Status.Detail);
        // Within a row of the limit (3 s), more on a loaded machine; Jint's own check came 32 rows (20 s) after the
        // start.
        Assert.True(elapsed < TimeSpan.FromSeconds(12), $"The call ended after {elapsed.TotalSeconds:0.0} s.");
    }

    // Within a row of the cancellation, more on a loaded machine; Jint's own check came at the 32nd row.
    [Fact]
    public Task A_cancelled_call_of_regular_expressions_frees_its_processor_at_once() =>
        CancelOnEveryProcessorAsync(SlowRegex, rows: 1000, runFor: TimeSpan.FromSeconds(0.5));

    // One call of a built-in function that matches 80 times, each after about 0.2 s of backtracking (16 s in all),
    // where Jint checks only every 10,000 matches: only a check between matches ends it near the limit.
    [Theory]
    [InlineData("text.split(/(?:a|aa)+c|b/).length")]
    [InlineData("text.match(/(?:a|aa)+c|b/g).length")]
    [InlineData("text.replace(/(?:a|aa)+c|(b)/g, '$1').length")]
    [InlineData("[...text.matchAll(/(?:a|aa)+c|b/g)].length")]
    [InlineData("Array(80).fill('a'.repeat(27) + 'b').filter(RegExp.prototype.test, /(?:a|aa)+c|b/).length")]
    public async Task One_call_that_matches_many_times_slowly_ends_at_the_time_limit(string call)
    {
        await using var own = await TestHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "2");
        await AnswersAsync(own.Client);
        var started = Stopwatch.GetTimestamp();

        var error = await FailsAsync(() => EvaluateAsync(own.Client, ManySlowMatches + call, 1));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("than the 2 s allowed per call (SsePlugin:JavaScript:TimeoutSeconds", error.Status.Detail);
        // Within a match or two of the limit, more on a loaded machine; Jint's own check came after all 80 (16 s).
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"The call ended after {elapsed.TotalSeconds:0.0} s.");
        await AnswersAsync(own.Client);
    }

    // A built-in function handed exec or test as its callback matches 400 times, each after a moment of catastrophic
    // backtracking (20 s or more in all), where Jint checks only every 10,000 elements: only exec or test checking
    // before each match ends it near the limit, as the direct route (a script function per element) does.
    [Theory]
    [InlineData("texts.map(t => re.exec(t))")]
    [InlineData("texts.map(RegExp.prototype.exec, re)")]
    [InlineData("texts.map(re.test, re)")]
    [InlineData("texts.filter(re.test, re)")]
    [InlineData("texts.forEach(re.exec, re) ?? texts")]
    [InlineData("Array.from(texts, re.exec, re)")]
    [InlineData("texts.map(Function.prototype.call.bind(RegExp.prototype.exec, re))")]
    public async Task Exec_or_test_handed_to_a_built_in_function_ends_at_the_time_limit(string route)
    {
        await using var own = await TestHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "2");
        await AnswersAsync(own.Client);
        var started = Stopwatch.GetTimestamp();

        var error = await FailsAsync(() => EvaluateAsync(own.Client, ManyCatastrophicMatches + route + ".length", 1));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("than the 2 s allowed per call (SsePlugin:JavaScript:TimeoutSeconds", error.Status.Detail);
        // Within a match or two of the limit, more on a loaded machine; Jint's own check came after all 400 (20 s).
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"The call ended after {elapsed.TotalSeconds:0.0} s.");
        await AnswersAsync(own.Client);
    }

    // Within a match or two of the cancellation, more on a loaded machine; Jint's own check came after all 400.
    [Fact]
    public Task A_cancelled_call_of_exec_handed_to_a_built_in_function_frees_its_processor_at_once() =>
        CancelOnEveryProcessorAsync(
            ManyCatastrophicMatches + "texts.map(RegExp.prototype.exec, re).length",
            rows: 1,
            runFor: TimeSpan.FromSeconds(1));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_script_compiled_instead_of_interpreted_still_ends_at_the_time_limit(bool wholeColumn)
    {
        // 8,192 terms added a row, over 200,000 rows: seconds of work even on a fast machine, on no interpreter whose
        // checks could end it; only a check before each row ends it near the limit.
        await using var own = await TestHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "1");
        await AnswersAsync(own.Client);
        var bundles = Enumerable.Range(0, 10).Select(_ => Bundle(Rows(20_000))).ToArray();
        var script = wholeColumn ? $"q => q.value.map(x => {Sum(13, "x")})" : Sum(13, "args[0]");
        var started = Stopwatch.GetTimestamp();

        var error = await FailsAsync(() => own.Client.EvaluateAsync(
            script, SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, bundles));
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("than the 1 s allowed per call (SsePlugin:JavaScript:TimeoutSeconds", error.Status.Detail);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"The call ended after {elapsed.TotalSeconds:0.0} s.");
        await AnswersAsync(own.Client);
    }

    [Fact]
    public async Task Regular_expression_functions_that_check_the_limits_answer_as_JavaScript_does()
    {
        await using var own = await TestHost.StartAsync();
        string[] calls =
        [
            "'a1b22c333'.split(/(\\d)(x)?/, 5).join('|')",
            "'a1b22c333'.match(/\\d+/g).join('|')",
            "'a1b22c333'.replace(/(\\d)+/g, '<$1>')",
            "'a1b22c333'.replace(/\\d/g, d => d * 2)",
            "'a1b22c333'.replaceAll(/[a-c]/g, 'X')",
            "[...'a1b22c333'.matchAll(/(\\d)(\\d)?/g)].map(m => m.index + ':' + m[0]).join('|')",
            "Object.prototype.toString.call('ab'.matchAll(/./g))",
            "/b2/.test('a1b22c333')",
            "'a1b22c333'.search(/c/)",
            "'aBc'.split(/b/i).join('|')",
            "'\\u{1F600}x\\u{1F600}'.split(/(?:)/u).length",
            "'xx'.replace(/x/y, 'y')",
            "RegExp.prototype.test.name + RegExp.prototype[Symbol.split].length",
            "RegExp.prototype.exec.name + RegExp.prototype.exec.length",
            "['xab', 'cb'].map(RegExp.prototype.exec, /(.)b/).map(m => m.index + m[1]).join('|')",
            "Object.getOwnPropertyDescriptor(RegExp.prototype, 'exec').enumerable",
        ];

        var answer = await EvaluateAsync(own.Client, $"[{string.Join(", ", calls)}].join(' ; ')", 1);

        // As Node.js answers.
        Assert.Equal(
            ["a|1||b|2 ; 1|22|333 ; a<1>b<2>c<3> ; a2b44c666 ; X1X22X333 ; 1:1|3:22|6:33|8:3 ; "
                + "[object RegExp String Iterator] ; true ; 5 ; a|c ; 3 ; yx ; test2 ; exec1 ; 1a|0c ; false"],
            answer.Strings());
    }

    // Within a match or two of the cancellation, more on a loaded machine; Jint's own check came 15 s later.
    [Fact]
    public Task A_cancelled_split_of_many_slow_matches_frees_its_processor_at_once() =>
        CancelOnEveryProcessorAsync(
            ManySlowMatches + "text.split(/(?:a|aa)+c|b/).length", rows: 1, runFor: TimeSpan.FromSeconds(1));

    [Fact]
    public async Task A_call_past_the_clients_deadline_while_its_answer_is_made_ends_as_such_not_as_a_failed_write()
    {
        // One statement, the function's expression body, splits for a second or more (one uninterrupted call); the
        // host then writes its answer to a call that grpc-dotnet has already ended at the client's deadline.
        const string script = "q => ('a'.repeat(22) + 'b').repeat(400).split(/(?:a|aa)+c|b/).length && q.value";
        var log = new LogCapture();
        await using var own = await TestHost.StartAsync(["--SsePlugin:JavaScript:TimeoutSeconds", "60"], log.AddTo);
        await AnswersAsync(own.Client);
        var headers = ScriptHeaders(script, SseFunctionType.Tensor, SseDataType.Numeric, OneNumber);
        using var call = own.Client.Connector.EvaluateScript(headers, deadline: DateTime.UtcNow.AddSeconds(0.5));
        await call.RequestStream.WriteAsync(Bundle(Rows(1)).Message);
        await call.RequestStream.CompleteAsync();

        var error = await FailsAsync(() => call.ResponseStream.MoveNext());
        var line = await log.WaitForAsync("ScriptEval", "past the deadline");

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("DeadlineExceeded: \"ScriptEval: the call ran past the deadline", line);
        await AnswersAsync(own.Client);
    }

    /// <summary><c>args[0]</c> added up 2^<paramref name="depth"/> times, in a balanced tree of sums.</summary>
    private static string Sum(int depth, string term) =>
        depth == 0 ? term : $"({Sum(depth - 1, term)} + {Sum(depth - 1, term)})";

    private static IEnumerable<SseValue[]> Rows(int count) => Enumerable.Range(0, count).Select(i => Numeric(i));

    private static Task<SseAnswer> EvaluateAsync(SseClient client, string script, int rows) =>
        client.EvaluateAsync(script, SseFunctionType.Tensor, SseDataType.String, OneNumber, Bundle(Rows(rows)));

    private static async Task AnswersAsync(SseClient client) =>
        Assert.Equal(["42"], (await EvaluateAsync(client, "args[0] + 42", 1)).Strings());

    /// <summary>
    /// Runs the script on every processor, cancels the calls <paramref name="runFor"/> into it, and asserts that each
    /// ends as cancelled, stops its script within seconds (the host logs it once it has given its processor back),
    /// never as a failed write, and that the host still answers.
    /// </summary>
    private static async Task CancelOnEveryProcessorAsync(string script, int rows, TimeSpan runFor)
    {
        var log = new LogCapture();
        await using var own = await TestHost.StartAsync(["--SsePlugin:JavaScript:TimeoutSeconds", "60"], log.AddTo);
        using var cancel = new CancellationTokenSource();
        // A first message of one row, -1, which the script answers at once: once each call has answered it, its script
        // runs (however long a loaded machine took to start the host's script engine), and the rows that follow keep
        // it busy far longer than the test waits.
        var headers = ScriptHeaders(
            $"if (args[0] < 0) {{ -1 }} else {{ {script} }}", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber);
        var calls = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(_ => own.Client.Connector.EvaluateScript(headers, cancellationToken: cancel.Token))
            .ToList();
        foreach (var call in calls)
        {
            await call.RequestStream.WriteAsync(Bundle([Numeric(-1)]).Message);
        }

        foreach (var call in calls)
        {
            Assert.True(await call.ResponseStream.MoveNext(), "The call ended before it answered its first row.");
            Assert.Equal(-1, call.ResponseStream.Current.Rows.Single().Duals[0].NumData);
            await call.RequestStream.WriteAsync(Bundle(Rows(rows)).Message);
            await call.RequestStream.CompleteAsync();
        }

        await Task.Delay(runFor);
        await cancel.CancelAsync();
        var ended = await Task.WhenAll(calls.Select(call => FailsAsync(() => call.ResponseStream.MoveNext())));
        calls.ForEach(call => call.Dispose());
        var stopping = Stopwatch.StartNew();
        while (CancelledCalls(log) < calls.Count && stopping.Elapsed < CallTimeout)
        {
            await Task.Delay(20);
        }

        var stopped = stopping.Elapsed;

        Assert.All(ended, error => Assert.True(error.StatusCode == StatusCode.Cancelled, error.Status.ToString()));
        Assert.True(CancelledCalls(log) == calls.Count, string.Join('\n', log.Messages));
        Assert.True(stopped < TimeSpan.FromSeconds(5), $"The calls stopped {stopped.TotalSeconds:0.0} s late.");
        // Cancelled, never a failed write to a call already over (Unknown).
        Assert.DoesNotContain(log.Messages, message => message.Contains("Unknown", StringComparison.Ordinal));
        await AnswersAsync(own.Client);
    }

    private static int CancelledCalls(LogCapture log) =>
        log.Messages.Count(line => line.Contains("the call was cancelled by the client", StringComparison.Ordinal));
}
