using Grpc.Core;
using Qlik.Sse;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Rserve;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// Qlik's script functions in R through a real Rserve: the data frame q, and every conversion both ways.
/// </summary>
[Collection(SharedRHost.Name)]
public sealed class RScriptTests(RHostFixture r)
{
    private static readonly (string, SseDataType)[] TwoNumbers =
        [("a", SseDataType.Numeric), ("b", SseDataType.Numeric)];
    private static readonly (string, SseDataType)[] OneNumber = [("x", SseDataType.Numeric)];
    private static readonly (string, SseDataType)[] OneText = [("s", SseDataType.String)];

    [Fact]
    public async Task ScriptEval_adds_the_columns_of_q_in_row_order_across_bundles()
    {
        var answer = await r.Client.EvaluateAsync(
            "q$a + q$b", SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers,
            Bundle([Numeric(1, 2), Numeric(3, 4)]), Bundle([Numeric(-1, 1)]));

        Assert.Equal([3, 7, 0], answer.Numbers());
    }

    [Fact]
    public async Task Qlik_nulls_arrive_as_NA_and_R_NA_and_NaN_return_as_nulls()
    {
        var seen = await r.Client.EvaluateAsync(
            "ifelse(is.na(q$x), ifelse(is.nan(q$x), 2, 1), 0)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(double.NaN), Numeric(5)]));
        var returned = await r.Client.EvaluateAsync(
            "c(NA, NaN, 1)",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)]));

        Assert.Equal([1, 0], seen.Numbers());
        Assert.Equal([double.NaN, double.NaN, 1], returned.Numbers());
    }

    [Fact]
    public async Task Strings_go_both_ways_in_UTF8_with_empty_and_NA_text()
    {
        var answer = await r.Client.EvaluateAsync(
            "c(paste0(q$s[1], '!'), as.character(nchar(q$s[1])), q$s[2], NA)",
            SseFunctionType.Tensor,
            SseDataType.String,
            OneText,
            Bundle([Text("Zürich"), Text(""), Text("x"), Text("y")]));

        Assert.Equal(["Zürich!", "6", "", ""], answer.Strings());
    }

    [Fact]
    public async Task A_dual_parameter_gives_its_number_and_its_text_as_name_str()
    {
        SseValue[] row = [new SseDual(45000, "2023-03-15")];
        var answer = await r.Client.EvaluateAsync(
            "paste(q$d, q$d_str)", SseFunctionType.Tensor, SseDataType.String, [("d", SseDataType.Dual)],
            Bundle([row]));

        Assert.Equal(["45000 2023-03-15"], answer.Strings());
    }

    [Fact]
    public async Task Logicals_integers_and_numbers_for_text_functions_are_converted()
    {
        var logicals = await r.Client.EvaluateAsync(
            "c(TRUE, FALSE, NA)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)]));
        var integers = await r.Client.EvaluateAsync(
            "c(1L, NA_integer_, -7L)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)]));
        var asText = await r.Client.EvaluateAsync(
            "q$x / 4", SseFunctionType.Tensor, SseDataType.String, OneNumber, Bundle([Numeric(1), Numeric(8)]));

        Assert.Equal([1, 0, double.NaN], logicals.Numbers());
        Assert.Equal([1, double.NaN, -7], integers.Numbers());
        Assert.Equal(["0.25", "2"], asText.Strings());
    }

    [Fact]
    public async Task Factors_return_as_their_labels()
    {
        var answer = await r.Client.EvaluateAsync(
            "factor(ifelse(q$x > 1, 'big', 'small'))",
            SseFunctionType.Tensor,
            SseDataType.String,
            OneNumber,
            Bundle([Numeric(0), Numeric(5)]));

        Assert.Equal(["small", "big"], answer.Strings());
    }

    [Fact]
    public async Task A_data_frame_returns_as_a_table_with_its_names_and_types()
    {
        var answer = await r.Client.EvaluateAsync(
            "data.frame(n = q$x * 2, s = paste0('r', q$x), f = factor(c('a', 'b')), d = as.Date('2024-01-31') + q$x, "
            + "stringsAsFactors = FALSE)",
            SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));

        var table = Assert.IsType<SseTableDescription>(answer.Table);
        Assert.Equal(["n", "s", "f", "d"], table.Fields.Select(f => f.Name));
        Assert.Equal(
            [SseDataType.Numeric, SseDataType.String, SseDataType.String, SseDataType.Dual],
            table.Fields.Select(f => f.DataType));
        Assert.Equal([2, 4], answer.Numbers(0));
        Assert.Equal(["r1", "r2"], answer.Strings(1));
        Assert.Equal(["a", "b"], answer.Strings(2));
        Assert.Equal([45323, 45324], answer.Numbers(3));
        Assert.Equal(["2024-02-01", "2024-02-02"], answer.Strings(3));
    }

    [Fact]
    public async Task An_aggregation_answers_one_value()
    {
        var answer = await r.Client.EvaluateAsync(
            "sum(q$x, na.rm = TRUE)", SseFunctionType.Aggregation, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(double.NaN)]), Bundle([Numeric(4)]));

        Assert.Equal([5], answer.Numbers());
    }

    [Fact]
    public async Task A_script_without_parameters_does_not_see_the_q_of_an_earlier_call()
    {
        for (var i = 0; i < 8; i++)
        {
            await r.Client.EvaluateAsync("q$x", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
                Bundle([Numeric(i)]));
        }

        var answer = await r.Client.EvaluateAsync(
            "ncol(q) + exists('x', inherits = FALSE)", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));

        Assert.Equal([0], answer.Numbers());
    }

    [Fact]
    public async Task Variables_of_one_call_are_gone_in_the_next_even_global_ones()
    {
        // More calls than sessions, so that every session of the pool has run one.
        for (var i = 0; i < 8; i++)
        {
            await r.Client.EvaluateAsync(
                "secret <- q$x; leak <<- q$x; assign('planted', 1, envir = globalenv()); secret",
                SseFunctionType.Tensor,
                SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => r.Client.EvaluateAsync(
            "exists('secret') + exists('leak') + exists('planted') + exists('.sse.call')",
            SseFunctionType.Scalar,
            SseDataType.Numeric,
            [],
            Bundle([[]]))));

        Assert.All(answers, a => Assert.Equal([0], a.Numbers()));
    }

    [Theory]
    [InlineData("times10 <<- function(x) -1", "times10(2)", 20)]
    [InlineData("rm('times10', envir = globalenv())", "times10(2)", 20)]
    [InlineData("attach(list(attached = 77)); attach(list(attached = 78))", "exists('attached')", 0)]
    [InlineData(
        "library(splines); library(stats4)", "('package:splines' %in% search()) + ('package:stats4' %in% search())",
        0)]
    [InlineData("options(warn = 2, OutDec = ',')", "(getOption('warn') == 0) + (getOption('OutDec') == '.')", 2)]
    [InlineData(
        "Sys.setenv(SSE_LEAK = 'secret', HOME = '/leaked')",
        "(Sys.getenv('SSE_LEAK') == '') + (Sys.getenv('HOME') != '/leaked')", 2)]
    public async Task Settings_a_call_changes_are_undone_before_the_next(string change, string probe, double expected)
    {
        // More calls than sessions, so that every session of the pool has run the change.
        for (var i = 0; i < 8; i++)
        {
            await r.Client.EvaluateAsync(
                $"{change}; 1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            r.Client.EvaluateAsync(probe, SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]))));

        Assert.All(answers, a => Assert.Equal([expected], a.Numbers()));
    }

    [Fact]
    public async Task Every_call_runs_in_an_R_process_of_its_own()
    {
        var processes = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            processes.Add(await RConfinementTests.ScalarAsync(r.Client, "Sys.getpid()"));
        }

        Assert.Equal(8, processes.Distinct().Count());
    }

    [Fact]
    public async Task With_ReuseSessions_calls_share_R_processes_which_are_put_back_between_calls()
    {
        await using var host = await RHostFixture.StartHostAsync(
            r.Rserve.Port,
            "--SsePlugin:Rserve:ReuseSessions", "true",
            "--SsePlugin:Rserve:InitScript", RHostFixture.InitScript);
        var processes = new List<double>();
        for (var i = 0; i < 8; i++)
        {
            processes.Add(await RConfinementTests.ScalarAsync(
                host.Client, "leak <<- 1; Sys.setenv(SSE_LEAK = 'x'); times10 <<- NULL; Sys.getpid()"));
        }

        var probe = await RConfinementTests.ScalarAsync(
            host.Client, "exists('leak') + (Sys.getenv('SSE_LEAK') != '') + times10(1)");

        Assert.True(processes.Distinct().Count() < 8, "Sessions were not reused.");
        Assert.Equal(10, probe);
    }

    [Fact]
    public async Task A_script_that_switches_the_reset_off_cannot_affect_later_calls_on_an_Rserve_of_ones_own() =>
        await RConfinementTests.SwitchingTheResetOffChangesNothingAsync(r.Client, sessions: 4);

    [Fact]
    public async Task A_script_cannot_replace_the_runner_of_later_calls()
    {
        var error = await FailsAsync(
            () => r.Client.EvaluateAsync(
                ".sse <<- NULL; 1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]])));
        var also = await FailsAsync(
            () => r.Client.EvaluateAsync(
                ".sse$run <- function() 42; 1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]])));
        var answers = await Task.WhenAll(Enumerable.Range(1, 8).Select(i =>
            r.Client.EvaluateAsync("q$x", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
                Bundle([Numeric(i)]))));

        Assert.Contains("locked binding", error.Status.Detail);
        Assert.Contains("locked", also.Status.Detail);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], answers.Select(a => a.Numbers()[0]));
    }

    [Fact]
    public async Task Times_keep_their_own_time_zone_and_list_columns_become_text()
    {
        var answer = await r.Client.EvaluateAsync(
            "data.frame(t = as.POSIXct('2024-01-01 10:30', tz = 'Europe/Berlin') + c(0, 60), l = I(list(1, c('x', "
            + "'y'))), d = as.Date(c(NA, Inf)))",
            SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));

        Assert.Equal(["2024-01-01 10:30:00", "2024-01-01 10:31:00"], answer.Strings(0));
        Assert.Equal(45292 + (10.5 / 24), answer.Numbers(0)[0], 1e-9);
        Assert.Equal(["1", "x, y"], answer.Strings(1));
        Assert.Equal([double.NaN, double.NaN], answer.Numbers(2));
        Assert.Equal(["", ""], answer.Strings(2));
    }

    [Fact]
    public async Task Windows_line_breaks_in_a_script_work()
    {
        var answer = await r.Client.EvaluateAsync(
            "y <- q$x * 2\r\ny + 1\r\n", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));

        Assert.Equal([3], answer.Numbers());
    }

    [Fact]
    public async Task The_init_script_ran_in_every_session()
    {
        var answers = await Task.WhenAll(Enumerable.Range(1, 4).Select(i =>
            r.Client.EvaluateAsync(
                "times10(q$x) + (f == 'kept')",
                SseFunctionType.Tensor,
                SseDataType.Numeric,
                OneNumber,
                Bundle([Numeric(i)]))));

        Assert.Equal([11, 21, 31, 41], answers.Select(a => a.Numbers()[0]));
    }

    [Theory]
    [InlineData("stop('the data is wrong')", "R error: the data is wrong")]
    [InlineData("q$x +", "unexpected end of input")]
    [InlineData("list(1, 2)", "returned a list")]
    [InlineData("q[, 0]", "without columns")]
    [InlineData("function(x) x", "cannot take")]
    [InlineData("c('a', 'b')", "returned text, but this function returns numbers")]
    public async Task R_errors_and_unusable_answers_reach_Qlik_with_a_clear_message(string script, string message)
    {
        var error = await FailsAsync(
            () => r.Client.EvaluateAsync(
                script, SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)])));
        var after = await r.Client.EvaluateAsync(
            "q$x", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(7)]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(message, error.Status.Detail);
        Assert.Equal([7], after.Numbers());
    }

    [Fact]
    public async Task An_answer_of_another_length_is_sent_as_R_returned_it_with_a_warning_or_refused_when_strict()
    {
        var log = new LogCapture();
        await using var host = await TestHost.StartAsync(
            ["--script-engine", "r", "--rserve", $"127.0.0.1:{r.Rserve.Port}"], log.AddTo);
        await using var strict = await RHostFixture.StartHostAsync(
            r.Rserve.Port, "--SsePlugin:Rserve:StrictAnswerLength", "true");
        var rows = Bundle([Numeric(1), Numeric(2), Numeric(3), Numeric(4)]);

        // A forecast of two values for a chart of four rows, as the R plugin's time-series app makes.
        var forecast = await host.Client.EvaluateAsync(
            "c(10, 20)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, rows);
        var refused = await FailsAsync(() =>
            strict.Client.EvaluateAsync("c(10, 20)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, rows));

        Assert.Equal([10, 20], forecast.Numbers());
        await log.WaitForAsync("ScriptEval", "the R script returned 2 values for 4 rows; they were sent as they are");
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("returned 2 values for 4 rows", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("SsePlugin:Rserve:StrictAnswerLength", refused.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parameter_Qlik_sends_without_a_name_is_arg_and_its_position_in_q()
    {
        var answer = await r.Client.EvaluateAsync(
            "paste(paste(names(q), collapse = ','), q$arg0, q$Sales, q$arg2, sep = ':')",
            SseFunctionType.Aggregation,
            SseDataType.String,
            [("", SseDataType.String), ("Sales", SseDataType.String), ("", SseDataType.String)],
            Bundle([Text("a", "b", "c")]));

        Assert.Equal(["arg0,Sales,arg2:a:b:c"], answer.Strings());
    }

    [Fact]
    public async Task Text_R_cannot_hold_is_refused_with_a_clear_message()
    {
        var error = await FailsAsync(
            () => r.Client.EvaluateAsync("q$s", SseFunctionType.Tensor, SseDataType.String, OneText,
            Bundle([Text("a\0b")])));
        var after = await r.Client.EvaluateAsync(
            "q$s", SseFunctionType.Tensor, SseDataType.String, OneText, Bundle([Text("ab")]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("cannot be given to R", error.Status.Detail);
        Assert.Equal(["ab"], after.Strings());
    }

    [Fact]
    public async Task Four_sleeping_scripts_run_in_parallel()
    {
        await OpenTheFourSessionsAsync();

        // Each script says when, in R, it started and ended its 3 s of sleep. One after the other, each would start
        // after the one before ended; in parallel all four sleep at once, however slowly a loaded machine delivers
        // calls and forks their R processes.
        var spans = await Task.WhenAll(RunFour(
            "start <- as.numeric(Sys.time()); Sys.sleep(3); data.frame(start = start, end = as.numeric(Sys.time()))"));

        Assert.True(
            spans.Max(s => s.Numbers(0)[0]) < spans.Min(s => s.Numbers(1)[0]),
            "The four scripts did not all sleep at the same time.");
    }

    [Fact]
    public async Task A_script_over_the_time_limit_is_stopped_and_the_pool_keeps_serving()
    {
        var error = await FailsAsync(
            () => r.Client.EvaluateAsync(
                "Sys.sleep(60); 1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]])));
        var answers = await Task.WhenAll(Enumerable.Range(1, 4).Select(i =>
            r.Client.EvaluateAsync("q$x", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
                Bundle([Numeric(i)]))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Contains("longer than the 10 s allowed", error.Status.Detail);
        Assert.Equal([1, 2, 3, 4], answers.Select(a => a.Numbers()[0]));
    }

    [Fact]
    public async Task Time_queued_for_a_session_does_not_count_against_the_scripts_limit()
    {
        await OpenTheFourSessionsAsync();
        using var signals = new RSignals();
        var busy = RunFour($"{signals.Started}; {signals.AwaitRelease}; q$x");
        await signals.StartedAsync(4);

        // Queued 5 s behind the four sessions' calls, which hold every session until released, then 6 s of R: more
        // than the 10 s limit in all, each part 4 s under it. (The 5 s are what is tested: time passing in the queue.)
        var queued = r.Client.EvaluateAsync(
            "Sys.sleep(6); q$x", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(5)]));
        await Task.Delay(TimeSpan.FromSeconds(5));
        signals.Release();
        await Task.WhenAll(busy);
        var answer = await queued;

        Assert.Equal([5], answer.Numbers());
    }

    [Fact]
    public async Task A_call_cancelled_by_the_client_ends_its_R_work()
    {
        using var signals = new RSignals();
        var header = new ScriptRequestHeader
        {
            Script = $"{signals.Started}; Sys.sleep(60); 1",
            FunctionType = FunctionType.Scalar,
            ReturnType = DataType.Numeric,
        };
        var headers = new Metadata
        {
            { "qlik-scriptrequestheader-bin", Google.Protobuf.MessageExtensions.ToByteArray(header) },
        };
        using var cancel = new CancellationTokenSource();
        using var call = r.Client.Connector.EvaluateScript(headers, cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(Bundle([[]]).Message);
        await call.RequestStream.CompleteAsync();
        await signals.StartedAsync(1);
        await cancel.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        var answers = await Task.WhenAll(Enumerable.Range(1, 4).Select(i =>
            r.Client.EvaluateAsync("q$x", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
                Bundle([Numeric(i)]))));

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal([1, 2, 3, 4], answers.Select(a => a.Numbers()[0]));
    }

    [Fact]
    public async Task A_million_rows_go_through_R_and_back()
    {
        var bundles = Enumerable.Range(0, 100).Select(
            b => Bundle(Enumerable.Range(b * 10_000, 10_000).Select(i => Numeric(i, 1)))).ToArray();

        var answer = await r.Client.EvaluateAsync(
            "q$a + q$b", SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers, bundles);

        Assert.Equal(1_000_000, answer.Rows.Count);
        Assert.Equal(1, answer.Numbers()[0]);
        Assert.Equal(1_000_000, answer.Numbers()[999_999]);
    }

    [Fact]
    public async Task Columns_or_an_answer_that_do_not_fit_in_Rs_memory_fail_with_ResourceExhausted_and_R_serves_on()
    {
        await using var own = await TestHost.StartAsync(
            "--script-engine", "r", "--start-rserve", "--rserve", $"127.0.0.1:{RserveProcess.FreeLoopbackPort()}",
            "--SsePlugin:Rserve:PoolSize", "1", "--SsePlugin:Rserve:MemoryLimitMegabytes", "300");
        // 100 MB of text, which R receives in one message and then holds as 100,000 strings.
        var text = new string('x', 1000);
        var columns = Enumerable.Range(0, 10)
            .Select(b => Bundle(Enumerable.Range(0, 10_000).Select(i => Text($"{b}.{i}{text}"))))
            .ToArray();

        var tooManyColumns = await FailsAsync(() => own.Client.EvaluateAsync(
            "sum(nchar(q$s))", SseFunctionType.Aggregation, SseDataType.Numeric, OneText, columns));
        // 80 MB of text that R holds, but not also in the buffer Rserve sends it from.
        var tooLargeAnswer = await FailsAsync(() => own.Client.EvaluateAsync(
            "paste0(seq_along(q$s), strrep('x', 1e5))", SseFunctionType.Tensor, SseDataType.String, OneText,
            Bundle(Enumerable.Range(0, 800).Select(i => Text("a")))));
        var after = await own.Client.EvaluateAsync(
            "sum(nchar(q$s))", SseFunctionType.Aggregation, SseDataType.Numeric, OneText, Bundle([Text("abc")]));

        Assert.All([tooManyColumns, tooLargeAnswer], error =>
        {
            Assert.True(error.StatusCode == StatusCode.ResourceExhausted, error.Status.ToString());
            Assert.Contains(
                "the 300 MB an R process may use (SsePlugin:Rserve:MemoryLimitMegabytes); raise it",
                error.Status.Detail);
        });
        Assert.Contains("the call's columns need more memory", tooManyColumns.Status.Detail);
        Assert.Contains("the script's answer needs more memory", tooLargeAnswer.Status.Detail);
        Assert.Equal([3], after.Numbers());
    }

    // Runs four calls, so that the pool has its four sessions ready (opened ahead) when what is timed starts.
    private async Task OpenTheFourSessionsAsync() => await Task.WhenAll(RunFour("Sys.sleep(0.3); q$x"));

    private Task<SseAnswer>[] RunFour(string script) => [.. Enumerable.Range(0, 4).Select(_ =>
        r.Client.EvaluateAsync(script, SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])))];
}
