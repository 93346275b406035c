using Grpc.Core;
using SsePlugin.Client;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.Python;

/// <summary>
/// Qlik's eight script functions in Debian's CPython, with the semantics of Qlik's FullScriptSupport examples: an
/// expression sees <c>args</c>, statements see the data frame <c>q</c> and answer <c>qResult</c>.
/// </summary>
[Collection(SharedPythonHost.Name)]
public sealed class PythonScriptTests(PythonHostFixture python)
{
    private static readonly (string, SseDataType)[] TwoNumbers =
        [("a", SseDataType.Numeric), ("b", SseDataType.Numeric)];
    private static readonly (string, SseDataType)[] OneNumber = [("x", SseDataType.Numeric)];
    private static readonly (string, SseDataType)[] OneText = [("s", SseDataType.String)];
    private static readonly (string, SseDataType)[] OneDual = [("d", SseDataType.Dual)];

    [Fact]
    public async Task The_FullScriptSupport_examples_test_script_answers_84()
    {
        // qlik-oss/server-side-extension, examples/python/test/test_fullscriptsupport.py.
        var answer = await python.Client.EvaluateAsync(
            "sum(args[0] + args[1])", SseFunctionType.Tensor, SseDataType.Numeric, [("num1", SseDataType.Numeric),
                ("num2", SseDataType.Numeric)], Bundle([Numeric(42, 42)]));

        Assert.Equal([84], answer.Numbers());
    }

    [Fact]
    public async Task ScriptEval_adds_numpy_columns_in_row_order_across_bundles()
    {
        var answer = await python.Client.EvaluateAsync(
            "numpy.add(args[0], args[1])", SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers,
            Bundle([Numeric(1, 2), Numeric(3, 4)]), Bundle([Numeric(-1, 1)]));

        Assert.Equal([3, 7, 0], answer.Numbers());
    }

    [Fact]
    public async Task ScriptEvalStr_takes_and_returns_UTF8_text()
    {
        var answer = await python.Client.EvaluateAsync(
            "[s.upper() + '!' for s in args[0]]", SseFunctionType.Tensor, SseDataType.String, OneText,
            Bundle([Text("Zürich"), Text(""), Text("日本")]));

        Assert.Equal(["ZÜRICH!", "!", "日本!"], answer.Strings());
    }

    [Fact]
    public async Task ScriptAggr_and_ScriptAggrStr_answer_one_value()
    {
        var sum = await python.Client.EvaluateAsync(
            "numpy.nansum(args[0])", SseFunctionType.Aggregation, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(double.NaN)]), Bundle([Numeric(4)]));
        var joined = await python.Client.EvaluateAsync(
            "'-'.join(args[0])", SseFunctionType.Aggregation, SseDataType.String, OneText,
            Bundle([Text("a"), Text("b")]));

        Assert.Equal([5], sum.Numbers());
        Assert.Equal(["a-b"], joined.Strings());
    }

    [Fact]
    public async Task ScriptEvalEx_gives_a_dual_as_its_numbers_and_its_texts()
    {
        var answer = await python.Client.EvaluateAsync(
            "[f'{n:.0f} {s}' for n, s in zip(args[0][0], args[0][1])]", SseFunctionType.Tensor, SseDataType.String,
            OneDual,
            Bundle([Dual(45000, "2023-03-15")]));
        var numbers = await python.Client.EvaluateAsync(
            "args[0][0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneDual, Bundle([Dual(2, "two")]));

        Assert.Equal(["45000 2023-03-15"], answer.Strings());
        Assert.Equal([4], numbers.Numbers());
    }

    [Fact]
    public async Task ScriptAggrEx_and_ScriptAggrExStr_take_duals_and_numbers()
    {
        (string, SseDataType)[] parameters = [("d", SseDataType.Dual), ("n", SseDataType.Numeric)];
        var number = await python.Client.EvaluateAsync(
            "sum(args[0][0]) + sum(args[1])", SseFunctionType.Aggregation, SseDataType.Numeric, parameters,
            Bundle([DualAndNumber(1, "one", 10), DualAndNumber(2, "two", 20)]));
        var text = await python.Client.EvaluateAsync(
            "','.join(args[0][1])", SseFunctionType.Aggregation, SseDataType.String, parameters,
            Bundle([DualAndNumber(1, "one", 10), DualAndNumber(2, "two", 20)]));

        Assert.Equal([33], number.Numbers());
        Assert.Equal(["one,two"], text.Strings());
    }

    [Fact]
    public async Task Statements_see_q_and_answer_qResult_as_in_the_pandas_example()
    {
        var answer = await python.Client.EvaluateAsync(
            "total = q.a + q.b\nqResult = total * 2", SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers,
            Bundle([Numeric(1, 2), Numeric(3, 4)]));

        Assert.Equal([6, 14], answer.Numbers());
    }

    [Fact]
    public async Task A_dual_in_q_is_a_column_of_pairs_with_name_str_and_name_num()
    {
        var answer = await python.Client.EvaluateAsync(
            "qResult = [f'{p[0]:.0f}|{p[1]}|{s}|{n:.0f}' for p, s, n in zip(q.d, q.d_str, q.d_num)]",
            SseFunctionType.Tensor, SseDataType.String, OneDual, Bundle([Dual(7, "seven")]));

        Assert.Equal(["7|seven|seven|7"], answer.Strings());
    }

    [Fact]
    public async Task Qlik_nulls_arrive_as_NaN_and_None_and_NaN_return_as_nulls()
    {
        var seen = await python.Client.EvaluateAsync(
            "[1 if numpy.isnan(x) else 0 for x in args[0]]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(double.NaN), Numeric(5)]));
        var numbers = await python.Client.EvaluateAsync(
            "[None, float('nan'), 1]", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)]));
        var texts = await python.Client.EvaluateAsync(
            "[None, 'x', 2.5]", SseFunctionType.Tensor, SseDataType.String, OneNumber,
            Bundle([Numeric(1), Numeric(2), Numeric(3)]));

        Assert.Equal([1, 0], seen.Numbers());
        Assert.Equal([double.NaN, double.NaN, 1], numbers.Numbers());
        Assert.Equal(["", "x", "2.5"], texts.Strings());
    }

    [Fact]
    public async Task A_pandas_data_frame_answers_a_table_with_its_field_names_and_types()
    {
        var answer = await python.Client.EvaluateAsync(
            "qResult = pandas.DataFrame({'n': q.x * 2, 's': ['r' + str(int(v)) for v in q.x]})",
            SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));

        var table = Assert.IsType<SseTableDescription>(answer.Table);
        Assert.Equal(["n", "s"], table.Fields.Select(f => f.Name));
        Assert.Equal([SseDataType.Numeric, SseDataType.String], table.Fields.Select(f => f.DataType));
        Assert.Equal([2, 4], answer.Numbers(0));
        Assert.Equal(["r1", "r2"], answer.Strings(1));
    }

    [Fact]
    public async Task TableDescription_True_sends_the_table_the_script_described()
    {
        // The pandas example's README: qResult = q.values, table.name, table.fields.add(...).
        var answer = await python.Client.EvaluateAsync(
            "table.name = 'Table1'\n"
            + "table.fields.add(name='firstField', dataType=1, tags=['tag1', 'tag2'])\n"
            + "table.fields.add(name='secondField', dataType=0)\n"
            + "qResult = q.values\n"
            + "tableDescription = True",
            SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers, Bundle([Numeric(1, 2), Numeric(3, 4)]));

        var table = Assert.IsType<SseTableDescription>(answer.Table);
        Assert.Equal("Table1", table.Name);
        Assert.Equal(["firstField", "secondField"], table.Fields.Select(f => f.Name));
        Assert.Equal(["tag1", "tag2"], table.Fields[0].Tags);
        Assert.Equal([1, 3], answer.Numbers(0));
        Assert.Equal(["2.0", "4.0"], answer.Strings(1));
    }

    [Fact]
    public async Task A_script_error_reaches_Qlik_as_the_tracebacks_last_line()
    {
        var division = await FailsAsync(() => python.Client.EvaluateAsync(
            "x = 1\nqResult = x / 0", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        var syntax = await FailsAsync(() => python.Client.EvaluateAsync(
            "qResult = (", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        var noResult = await FailsAsync(() => python.Client.EvaluateAsync(
            "x = 1", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));
        var text = await FailsAsync(() => python.Client.EvaluateAsync(
            "['a']", SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)])));

        Assert.Equal(StatusCode.InvalidArgument, division.StatusCode);
        Assert.Equal("ScriptEval: Python error: ZeroDivisionError: division by zero", division.Status.Detail);
        Assert.StartsWith("ScriptEval: Python error: SyntaxError: ", syntax.Status.Detail);
        Assert.EndsWith("(line 1)", syntax.Status.Detail);
        Assert.Contains("set no qResult", noResult.Status.Detail);
        Assert.Contains("returned text ('a'), but this function returns numbers", text.Status.Detail);
        await python.Client.AssertServesAsync();
    }

    [Fact]
    public async Task An_aggregation_that_answers_several_values_fails_naming_the_count()
    {
        var error = await FailsAsync(() => python.Client.EvaluateAsync(
            "args[0]", SseFunctionType.Aggregation, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(
            "ScriptAggr: the Python script returned 2 values; an aggregation returns one value.", error.Status.Detail);
    }

    [Fact]
    public async Task No_call_sees_what_an_earlier_call_left()
    {
        var first = await python.Client.EvaluateAsync(
            "import builtins, os\nbuiltins.leak = 1\nnumpy.leak = 2\nqResult = os.getpid()",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));
        var second = await python.Client.EvaluateAsync(
            "[hasattr(__import__('builtins'), 'leak') or hasattr(numpy, 'leak'), __import__('os').getpid()]",
            SseFunctionType.Scalar, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));

        Assert.Equal(0, second.Numbers()[0]);
        Assert.NotEqual(first.Numbers()[0], second.Numbers()[1]);
    }

    [Fact]
    public async Task Half_a_million_rows_go_through_Python_and_back_in_messages_under_4_MiB()
    {
        var bundles = Enumerable.Range(0, 50).Select(
            b => Bundle(Enumerable.Range(b * 10_000, 10_000).Select(i => Numeric(i, 0.5)))).ToArray();

        var answer = await python.Client.EvaluateAsync(
            "numpy.add(args[0], args[1])", SseFunctionType.Tensor, SseDataType.Numeric, TwoNumbers, bundles);

        // The client takes at most 4 MiB a message, as Qlik's engine does.
        Assert.Equal(500_000, answer.Rows.Count);
        Assert.True(answer.Messages > 1);
        Assert.Equal(0.5, answer.Numbers()[0]);
        Assert.Equal(499_999.5, answer.Numbers()[499_999]);
    }

    private static SseValue[] Dual(double number, string text) => [new SseDual(number, text)];

    private static SseValue[] DualAndNumber(double number, string text, double other) =>
        [new SseDual(number, text), other];
}
