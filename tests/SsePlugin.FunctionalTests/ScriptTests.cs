using Grpc.Core;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>Qlik's eight script functions, in JavaScript, through real EvaluateScript calls.</summary>
[Collection(SharedHost.Name)]
public sealed class ScriptTests(HostFixture host)
{
    // Deeper than Jint's parser nests: refused when the script is prepared, not as a parse error.
    private const string NestedTooDeeply =
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
        + "1"
        + "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
        + "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
        + "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]";

    private static readonly (string, SseDataType)[] TwoNumbers =
        [("a", SseDataType.Numeric), ("b", SseDataType.Numeric)];
    private static readonly (string, SseDataType)[] TwoStrings = [("a", SseDataType.String), ("b", SseDataType.String)];
    private static readonly (string, SseDataType)[] OneNumber = [("value", SseDataType.Numeric)];

    [Fact]
    public async Task ScriptEval_adds_numbers_per_row_in_order_across_bundles()
    {
        var answer = await host.Client.EvaluateAsync(
            "args[0] + args[1]", SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers,
            Bundle([Numeric(1, 2), Numeric(3, 4)]), Bundle([Numeric(double.NaN, 1), Numeric(-1, 1)]));

        Assert.Equal([3, 7, double.NaN, 0], answer.Numbers());
    }

    [Theory]
    [InlineData("args[0] + args[1]")]
    [InlineData("args[0] - args[1] * 2")]
    [InlineData("-args[0] / args[1] % 0x10")]
    [InlineData("(args[0] - 32) / 1.8 + +args[1]")]
    [InlineData("args[0] * 0 - -0 * args[1]")]
    [InlineData("args[1] % args[0]")]
    public async Task Plain_arithmetic_answers_exactly_what_the_interpreter_answers(string script)
    {
        // A script of plain arithmetic is computed without the interpreter; the same preceded by a statement is not.
        double[] values = [0, -0.0, 1, -7, 2.5, 0.1, 1e308, double.Epsilon, double.NaN, double.PositiveInfinity];
        var rows = Bundle(values.SelectMany(x => values.Select(y => Numeric(x, y))));

        var computed = await host.Client.EvaluateAsync(
            script, SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers, rows);
        var interpreted = await host.Client.EvaluateAsync(
            "0; " + script, SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers, rows);

        Assert.Equal(values.Length * values.Length, computed.Numbers().Length);
        Assert.Equal(interpreted.Numbers().Select(Bits), computed.Numbers().Select(Bits));
    }

    [Theory]
    [InlineData("Math.round(args[0] * 100) / 100 + (args[1] > 0 ? 1 : 0)", SseDataType.Numeric)]
    [InlineData("args[0] > 0 ? args[0] : 0", SseDataType.Numeric)]
    [InlineData("args[2] + ' ' + args[0]", SseDataType.String)]
    [InlineData("args[2].length < 3 && args[2] >= 'b' ? Math.sqrt(args[0]) : -args[1] % 3", SseDataType.Dual)]
    [InlineData("Math.max(args[0], args[1]) ** Math.sign(args[1]) == args[2]", SseDataType.String)]
    [InlineData("q => q.a.map((x, i) => x + q.b[i])", SseDataType.Numeric)]
    [InlineData("q => q.a.map(x => Math.floor(x) + '!')", SseDataType.String)]
    [InlineData("q => q.s.map((s, i) => s + ':' + Math.trunc(q.a[i] / q.b[i]))", SseDataType.String)]
    [InlineData("q => q.a.map((x, i) => i)", SseDataType.Numeric)]
    [InlineData("t => t['a'].map((a, row) => a > row ? t.s[row] : row + t.s[row])", SseDataType.Dual)]
    public async Task Compiled_scripts_answer_exactly_what_the_interpreter_answers(
        string script, SseDataType returnType)
    {
        // A script of one pure expression is compiled; the same preceded by a statement runs in the interpreter. The
        // rows come in several messages, as Qlik sends them: a whole-column script's index counts the whole call.
        double[] numbers =
            [0, -0.0, 1, -7, 0.125, -0.5, 0.49999999999999994, 1e308, double.NaN, double.NegativeInfinity];
        string[] texts = ["", "a", "b", "Zürich", "😀", "10"];
        (string, SseDataType)[] parameters =
            [("a", SseDataType.Numeric), ("b", SseDataType.Numeric), ("s", SseDataType.String)];
        var rows = numbers.SelectMany((x, i) => numbers.Select((y, j) =>
            new SseValue[] { x, y, texts[(i + j) % texts.Length] })).Chunk(30).Select(Bundle).ToArray();

        var compiled = await host.Client.EvaluateAsync(script, SseFunctionType.Tensor, returnType, parameters, rows);
        var interpreted = await host.Client.EvaluateAsync(
            "0; " + script, SseFunctionType.Tensor, returnType, parameters, rows);

        Assert.Equal(numbers.Length * numbers.Length, compiled.Numbers().Length);
        Assert.Equal(interpreted.Numbers().Select(Bits), compiled.Numbers().Select(Bits));
        Assert.Equal(interpreted.Strings(), compiled.Strings());
    }

    [Fact]
    public async Task ScriptEvalStr_concatenates_strings()
    {
        var answer = await host.Client.EvaluateAsync(
            "args[0] + args[1]",
            SseFunctionType.Scalar,
            SseDataType.String,
            TwoStrings,
            Bundle([Text("Zür", "ich"), Text("", "")]));

        Assert.Equal(["Zürich", ""], answer.Strings());
    }

    [Fact]
    public async Task ScriptAggr_sees_whole_columns()
    {
        var answer = await host.Client.EvaluateAsync(
            "args[0].reduce((s, x) => s + x, 0) + args[0].length",
            SseFunctionType.Aggregation,
            SseDataType.Numeric,
            OneNumber,
            Bundle([Numeric(1), Numeric(2)]),
            Bundle([Numeric(3)]));

        Assert.Equal([9], answer.Numbers());
    }

    [Fact]
    public async Task ScriptAggrStr_joins_a_string_column()
    {
        var answer = await host.Client.EvaluateAsync(
            "q.name.join('-')",
            SseFunctionType.Aggregation,
            SseDataType.String,
            [("name", SseDataType.String)],
            Bundle([Text("a"), Text("b")]));

        Assert.Equal(["a-b"], answer.Strings());
    }

    [Fact]
    public async Task A_parameter_Qlik_sends_without_a_name_is_arg_and_its_position_in_q()
    {
        var answer = await host.Client.EvaluateAsync(
            "Object.keys(q).join() + ':' + q.arg0[0] + q.Sales[0] + q.arg2[0]",
            SseFunctionType.Aggregation,
            SseDataType.String,
            [("", SseDataType.String), ("Sales", SseDataType.String), ("", SseDataType.String)],
            Bundle([Text("a", "b", "c")]));

        Assert.Equal(["arg0,Sales,arg2:abc"], answer.Strings());
    }

    [Fact]
    public async Task A_compiled_whole_column_script_reads_a_parameter_without_a_name_as_arg_and_its_position()
    {
        (string, SseDataType)[] parameters = [("Sales", SseDataType.Numeric), ("", SseDataType.Numeric)];
        var rows = Bundle([Numeric(1, 10), Numeric(2, 20)]);

        var compiled = await host.Client.EvaluateAsync(
            "q => q.arg1.map((x, i) => x + q.Sales[i])", SseFunctionType.Tensor, SseDataType.Numeric, parameters, rows);
        var interpreted = await host.Client.EvaluateAsync(
            "0; q => q.arg1.map((x, i) => x + q.Sales[i])", SseFunctionType.Tensor, SseDataType.Numeric, parameters,
            rows);

        Assert.Equal([11, 22], compiled.Numbers());
        Assert.Equal(interpreted.Numbers(), compiled.Numbers());
    }

    [Fact]
    public async Task ScriptEvalEx_reads_duals_strings_and_numbers_by_position()
    {
        SseValue[] row = [new SseDual(45000, "2023-03-15"), "abc", 2];

        var answer = await host.Client.EvaluateAsync(
            "args[0].num + args[0].str.length + args[1].length * args[2]", SseFunctionType.Tensor, SseDataType.Numeric,
            [("d", SseDataType.Dual), ("s", SseDataType.String), ("n", SseDataType.Numeric)], Bundle([row]));

        Assert.Equal([45000 + 10 + 6], answer.Numbers());
    }

    [Fact]
    public async Task ScriptAggrExStr_reads_mixed_columns()
    {
        var answer = await host.Client.EvaluateAsync(
            "q.s.map((s, i) => s + q.n[i]).join(',')", SseFunctionType.Aggregation, SseDataType.String,
            [("s", SseDataType.String), ("n", SseDataType.Numeric)],
            Bundle([TextAndNumber("x", 1), TextAndNumber("y", 2.5)]));

        Assert.Equal(["x1,y2.5"], answer.Strings());
    }

    [Fact]
    public async Task Statement_scripts_with_let_and_windows_line_breaks_run_for_every_row()
    {
        var answer = await host.Client.EvaluateAsync(
            "let twice = args[0] * 2;\r\nconst one = 1;\r\nvar sum = twice + one;\r\nsum",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)]));

        Assert.Equal([3, 5, 7], answer.Numbers());
    }

    [Fact]
    public async Task A_script_that_is_a_function_gets_the_whole_table_once()
    {
        var answer = await host.Client.EvaluateAsync(
            "q => q.Sales.map((s, i) => s / q.Cost[i])",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            [("Sales", SseDataType.Numeric), ("Cost", SseDataType.Numeric)],
            Bundle([Numeric(10, 4)]),
            Bundle([Numeric(9, 3)]));

        Assert.Equal([2.5, 3], answer.Numbers());
        Assert.Null(answer.Table);
    }

    [Fact]
    public async Task A_function_returning_an_object_of_arrays_answers_a_described_table()
    {
        var answer = await host.Client.EvaluateAsync(
            "q => ({ Name: q.name.map(n => n.toUpperCase()), Double: q.value.map(v => v * 2), Mixed: [1, 'b'] })",
            SseFunctionType.Tensor, SseDataType.String, [("name", SseDataType.String), ("value", SseDataType.Numeric)],
            Bundle([TextAndNumber("a", 1), TextAndNumber("b", 2)]));

        Assert.Equal(
            [("Name", SseDataType.String), ("Double", SseDataType.Numeric), ("Mixed", SseDataType.String)],
            answer.Table!.Fields.Select(f => (f.Name, f.DataType)));
        Assert.Equal(["A", "B"], answer.Strings(0));
        Assert.Equal([2, 4], answer.Numbers(1));
        Assert.Equal(["1", "b"], answer.Strings(2));
    }

    [Fact]
    public async Task A_returned_field_of_num_str_objects_is_a_dual_field()
    {
        var answer = await host.Client.EvaluateAsync(
            "q => ({ Labelled: Array.from(q.value, v => ({ num: v, str: 'n' + v })) })",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            OneNumber,
            Bundle([Numeric(1), Numeric(2)]));

        Assert.Equal([("Labelled", SseDataType.Dual)], answer.Table!.Fields.Select(f => (f.Name, f.DataType)));
        Assert.Equal([1, 2], answer.Numbers());
        Assert.Equal(["n1", "n2"], answer.Strings());
    }

    [Fact]
    public async Task Without_rows_a_function_still_describes_its_table_and_a_per_row_script_answers_nothing()
    {
        var table = await host.Client.EvaluateAsync(
            "q => ({ Double: q.value.map(v => v * 2) })", SseFunctionType.Tensor, SseDataType.Numeric,
            [("value", SseDataType.Numeric)]);
        var perRow = await host.Client.EvaluateAsync(
            "args[0].toFixed(2)", SseFunctionType.Tensor, SseDataType.String, [("value", SseDataType.Numeric)]);
        var asyncPerRow = await host.Client.EvaluateAsync(
            "(async () => args[0].toFixed(2))()", SseFunctionType.Tensor, SseDataType.String, [("value",
            SseDataType.Numeric)]);
        var arithmetic = await host.Client.EvaluateAsync(
            "args[0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, [("value", SseDataType.Numeric)]);

        Assert.Equal([("Double", SseDataType.Numeric)], table.Table!.Fields.Select(f => (f.Name, f.DataType)));
        Assert.Empty(table.Rows);
        Assert.Null(perRow.Table);
        Assert.Empty(perRow.Rows);
        Assert.Empty(asyncPerRow.Rows);
        Assert.Null(arithmetic.Table);
        Assert.Empty(arithmetic.Rows);
    }

    [Fact]
    public async Task Answers_convert_to_the_return_type()
    {
        var numbers = await host.Client.EvaluateAsync(
            "[1.5, 'abc', null, undefined, true][args[0]]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(0), Numeric(1), Numeric(2), Numeric(3), Numeric(4)]));
        var strings = await host.Client.EvaluateAsync(
            "[1.5, 'abc', null, undefined, true][args[0]]", SseFunctionType.Tensor, SseDataType.String, OneNumber,
            Bundle([Numeric(0), Numeric(1), Numeric(2), Numeric(3), Numeric(4)]));

        Assert.Equal([1.5, double.NaN, double.NaN, double.NaN, double.NaN], numbers.Numbers());
        Assert.Equal(["1.5", "abc", "", "", "true"], strings.Strings());
    }

    [Fact]
    public async Task Symbols_become_their_text_and_promises_what_they_settle_to()
    {
        var symbol = await host.Client.EvaluateAsync(
            "Symbol('x')", SseFunctionType.Tensor, SseDataType.String, OneNumber, Bundle([Numeric(1)]));
        var perRow = await host.Client.EvaluateAsync(
            "(async () => args[0] * 2)()", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(2)]));
        var whole = await host.Client.EvaluateAsync(
            "async q => q.value.map(x => x + 1)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(2)]));
        var aggregate = await host.Client.EvaluateAsync(
            "Promise.resolve(args[0].length)", SseFunctionType.Aggregation, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(2)]));

        Assert.Equal(["Symbol(x)"], symbol.Strings());
        Assert.Equal([2, 4], perRow.Numbers());
        Assert.Equal([2, 3], whole.Numbers());
        Assert.Equal([2], aggregate.Numbers());
    }

    [Fact]
    public async Task A_whole_table_answer_of_the_wrong_length_is_an_error()
    {
        var error = await FailsAsync(() => host.Client.EvaluateAsync(
            "q => [1]",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("answered 1 value for 3 rows", error.Status.Detail);
    }

    [Theory]
    [InlineData("args[0] +", "ScriptEval: The script does not parse: the script ends too early")]
    [InlineData("args[0] +\n) + 1", "ScriptEval: The script does not parse: Unexpected token ')' (line 2, column 1)")]
    [InlineData("args[0] + )", "ScriptEval: The script does not parse: Unexpected token ')' (line 1, column 11)")]
    [InlineData(NestedTooDeeply, "ScriptEval: The script cannot be prepared:")]
    [InlineData("throw new Error('custom failure')", "custom failure")]
    [InlineData(
        "(async () => { throw new Error('async failure'); })()",
        "ScriptEval: the script failed: Promise was rejected with value Error: async failure")]
    [InlineData(
        "throw new Proxy({}, { get() { throw 1; } })", "threw a value with no message to show (line 1, column 7)")]
    [InlineData("System.IO.File.ReadAllText('/etc/passwd')", "System is not defined")]
    [InlineData("importNamespace('System.IO')", "importNamespace is not defined")]
    [InlineData("require('fs')", "require is not defined")]
    [InlineData("eval('1 + 1')", "String compilation has been disabled")]
    [InlineData("new Function('return 1')()", "String compilation has been disabled")]
    [InlineData("args.constructor.constructor('return this')()", "String compilation has been disabled")]
    public async Task Scripts_cannot_reach_dotnet_or_compile_strings_and_errors_are_clear(string script, string message)
    {
        var error = await RefusedAsync(script, SseFunctionType.Tensor, [Numeric(1)], StatusCode.InvalidArgument);

        Assert.Contains(message, error.Status.Detail);
    }

    [Theory]
    [InlineData(
        "var s = 0; for (var i = 0; i < 2e5; i++) { s += i; } s", StatusCode.DeadlineExceeded,
        "longer than the 5 s")]
    [InlineData("while (true) {}", StatusCode.ResourceExhausted, "statements")]
    [InlineData("function f(n) { return f(n + 1) + 1; } f(0)", StatusCode.ResourceExhausted, "nest deeper")]
    [InlineData(
        "var a = []; while (true) { a.push('x'.repeat(1000) + a.length); }", StatusCode.ResourceExhausted,
        "MB allowed")]
    [InlineData(
        "/(a+)+$/.test('a'.repeat(30) + 'b') ? 1 : 0",
        StatusCode.DeadlineExceeded,
        "a regular expression in the script ran longer than the 1 s allowed per match")]
    public async Task Runaway_scripts_end_with_a_clear_status_and_the_host_keeps_serving(
        string script, StatusCode status, string message)
    {
        // 1,000 rows of a 200,000-step loop (600,000 statements a row) take far longer than the 5 s the test host
        // allows per call, while an endless loop reaches the million statements it allows per evaluation within a
        // tenth of a second, so well within them even on a machine loaded twentyfold.
        var rows = Enumerable.Range(0, 1000).Select(i => Numeric(i));

        var error = await RefusedAsync(script, SseFunctionType.Tensor, rows, status);

        Assert.Contains(message, error.Status.Detail);
    }

    [Theory]
    [InlineData(
        "q => ({})",
        nameof(SseFunctionType.Tensor),
        "ScriptEval's function: the returned object has no fields; return a value, an array, or an object of "
        + "equal-length arrays")]
    [InlineData(
        "({})",
        nameof(SseFunctionType.Aggregation),
        "ScriptAggr: the returned object has no fields; return a value, an array, or an object of equal-length "
        + "arrays")]
    [InlineData(
        "q => ({ A: 1 })", nameof(SseFunctionType.Tensor),
        "ScriptEval's function: field 'A' of the returned table is not an array")]
    [InlineData(
        "({ A: [1], B: [1, 2] })", nameof(SseFunctionType.Aggregation),
        "ScriptAggr: the returned table's fields have different lengths (A: 1, B: 2)")]
    public async Task A_returned_table_without_fields_or_with_unequal_ones_is_refused(
        string script, string type, string message)
    {
        var error = await RefusedAsync(
            script, Enum.Parse<SseFunctionType>(type), [Numeric(1), Numeric(2)], StatusCode.InvalidArgument);

        Assert.StartsWith(message, error.Status.Detail);
    }

    [Fact]
    public async Task Every_row_gets_args_of_its_own_whatever_the_script_does_with_it()
    {
        var rows = Bundle([Numeric(1), Numeric(2), Numeric(3)]);

        var pushed = await host.Client.EvaluateAsync(
            "args.push(10); args.reduce((s, x) => s + x, 0) / args.length", SseFunctionType.Tensor, SseDataType.Numeric,
            OneNumber, rows);
        var kept = await host.Client.EvaluateAsync(
            "var all = typeof all === 'undefined' ? [] : all; all.push(args); all.map(a => a[0]).join(',')",
            SseFunctionType.Tensor,
            SseDataType.String,
            OneNumber,
            rows);
        var replaced = await host.Client.EvaluateAsync(
            "if (args[0] == 1) args = [100]; args[0]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, rows);

        Assert.Equal([5.5, 6, 6.5], pushed.Numbers());
        Assert.Equal(["1", "1,2", "1,2,3"], kept.Strings());
        Assert.Equal([100, 2, 3], replaced.Numbers());
    }

    [Fact]
    public async Task A_promise_that_can_never_settle_fails_at_once()
    {
        var error = await RefusedAsync(
            "new Promise(() => {})", SseFunctionType.Tensor, [Numeric(1)], StatusCode.InvalidArgument);

        Assert.Contains("the script's promise never settles", error.Status.Detail);
    }

    [Fact]
    public async Task Time_spent_waiting_for_Qlik_s_rows_does_not_count_against_the_time_limit()
    {
        // Three messages, each sent 3 s after the answer to the one before: over 5 s in all, the test host's limit,
        // of which the script runs 0.2 s a message, long enough to be stopped were the pauses counted. (The pauses
        // are what is tested: Qlik taking its time.) Each statement backtracks for milliseconds, so that the 0.2 s
        // take a few hundred statements, far fewer than the host allows.
        using var timeout = new CancellationTokenSource(CallTimeout);
        var headers = ScriptHeaders(
            "const start = Date.now(); while (Date.now() - start < 200) /^(a|aa)+$/.test('a'.repeat(22) + 'b'); "
            + "args[0] + 3",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            OneNumber);
        using var call = host.Client.Connector.EvaluateScript(headers, cancellationToken: timeout.Token);
        var answers = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(i == 0 ? 0 : 3));
            await call.RequestStream.WriteAsync(Bundle([Numeric(i)]).Message);
            Assert.True(
                await call.ResponseStream.MoveNext(timeout.Token), $"The call ended before answering message {i + 1}.");
            answers.AddRange(call.ResponseStream.Current.Rows.Select(row => row.Duals[0].NumData));
        }

        await call.RequestStream.CompleteAsync();
        var rest = await QlikCalls.ReadAllAsync(call, timeout.Token);

        Assert.Equal([3, 4, 5], answers);
        Assert.Empty(rest.Rows);
    }

    [Fact]
    public async Task Scripts_running_on_every_processor_and_more_waiting_leave_the_host_serving_other_calls()
    {
        // A host of its own, whose 60 s limit none of the runaway calls reaches before the test cancels them, however
        // slowly a loaded machine sends them: each call's rows would keep a processor busy for longer than that.
        await using var own = await TestHost.StartAsync("--SsePlugin:JavaScript:TimeoutSeconds", "60");
        using var runaway = new CancellationTokenSource(CallTimeout);
        var calls = Enumerable.Range(0, 4 * Environment.ProcessorCount)
            .Select(_ => own.Client.Connector.EvaluateScript(
                ScriptHeaders(
                    "var s = 0; for (var i = 0; i < 2e5; i++) { s += i; } s", SseFunctionType.Tensor,
                    SseDataType.Numeric,
                    OneNumber), cancellationToken: runaway.Token))
            .ToList();
        foreach (var call in calls)
        {
            await call.RequestStream.WriteAsync(Bundle(Enumerable.Range(0, 10_000).Select(i => Numeric(i))).Message);
            await call.RequestStream.CompleteAsync();
        }

        // Answered within seconds (a loaded machine may take several), not when a runaway call ends.
        using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var capabilities = await own.Client.GetCapabilitiesAsync(probe.Token);
        var sum = await own.Client.ExecuteAsync(5, [Bundle([Numeric(20, 22)])], options: null, probe.Token);
        await runaway.CancelAsync();
        var ended = await Task.WhenAll(
            calls.Select(call => FailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None))));
        calls.ForEach(call => call.Dispose());

        Assert.True(capabilities.AllowScript);
        Assert.Equal([42], sum.Numbers());
        Assert.All(ended, error => Assert.Equal(StatusCode.Cancelled, error.StatusCode));
        var answer = await own.Client.EvaluateAsync(
            "args[0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(21)]));
        Assert.Equal([42], answer.Numbers());
    }

    [Fact]
    public async Task Nothing_one_call_defines_is_visible_to_another()
    {
        await host.Client.EvaluateAsync(
            "var leaked = 42; globalThis.alsoLeaked = 1; 1", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1)]));

        var answer = await host.Client.EvaluateAsync(
            "typeof leaked + ',' + typeof alsoLeaked",
            SseFunctionType.Tensor,
            SseDataType.String,
            OneNumber,
            Bundle([Numeric(1)]));

        Assert.Equal(["undefined,undefined"], answer.Strings());
    }

    [Fact]
    public async Task Concurrent_calls_with_different_scripts_each_get_their_own_answer()
    {
        var calls = Enumerable.Range(1, 16).Select(k => host.Client.EvaluateAsync(
            $"args[0] * {k}",
            SseFunctionType.Tensor,
            SseDataType.Numeric,
            OneNumber,
            Bundle(Enumerable.Range(0, 2000).Select(i => Numeric(i)))));

        var answers = await Task.WhenAll(calls);

        for (var k = 1; k <= 16; k++)
        {
            Assert.Equal(Enumerable.Range(0, 2000).Select(i => (double)i * k), answers[k - 1].Numbers());
        }
    }

    [Fact]
    public async Task Capabilities_allow_scripts()
    {
        Assert.True((await host.Client.GetCapabilitiesAsync()).AllowScript);
    }


    // The bits of an answer, so that -0 differs from 0; NaN's payload is not JavaScript's to choose.
    private static long Bits(double value) => BitConverter.DoubleToInt64Bits(double.IsNaN(value) ? double.NaN : value);

    /// <summary>
    /// Runs a numeric script over one number per row that must fail with <paramref name="status"/>; the host must run
    /// scripts on.
    /// </summary>
    private async Task<SseAnswer> RefusedAsync(
        string script, SseFunctionType type, IEnumerable<SseValue[]> rows, StatusCode status)
    {
        var error = await FailsAsync(
            () => host.Client.EvaluateAsync(script, type, SseDataType.Numeric, OneNumber, Bundle(rows)));
        Assert.Equal(status, error.StatusCode);
        await HostStillRunsScriptsAsync();
        return error;
    }

    private async Task HostStillRunsScriptsAsync()
    {
        var answer = await host.Client.EvaluateAsync(
            "args[0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(21)]));
        Assert.Equal([42], answer.Numbers());
    }
}
