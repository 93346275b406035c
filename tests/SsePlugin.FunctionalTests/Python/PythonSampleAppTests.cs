using SsePlugin.Client;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.Python;

/// <summary>
/// The expressions of Qlik's FullScriptSupport sample app (SSE_Full_Script_Support.qvf, as its README describes its
/// load script and sheets), unchanged but for the connection's alias, over its table: ID, String, Mixed and Numeric.
/// </summary>
[Collection(SharedPythonHost.Name)]
public sealed class PythonSampleAppTests(PythonHostFixture python)
{
    private static readonly double[] Ids = [1, 2, 3, 4];
    private static readonly string[] Strings = ["A", "B", "C", "D"];
    private static readonly (double Number, string Text)[] Mixed =
        [(1, "one"), (2, "two"), (double.NaN, "three"), (4, "four")];

    [Fact]
    public async Task The_load_scripts_fields_Numeric_and_TotalCount()
    {
        // Script.ScriptEval('args[0] + 1', ID): a scalar call per row in a load script, or all rows at once.
        var perRow = await python.Client.EvaluateAsync(
            "args[0] + 1", SseFunctionType.Scalar, SseDataType.Numeric, [("ID", SseDataType.Numeric)],
            Bundle([Numeric(3)]));
        var numeric = await python.Client.EvaluateAsync(
            "args[0] + 1", SseFunctionType.Scalar, SseDataType.Numeric, [("ID", SseDataType.Numeric)], Column(Ids));
        var totalCount = await python.Client.EvaluateAsync(
            "len(args[0])", SseFunctionType.Aggregation, SseDataType.Numeric, [("ID", SseDataType.Numeric)],
            Column(Ids));

        Assert.Equal([4], perRow.Numbers());
        Assert.Equal([2, 3, 4, 5], numeric.Numbers());
        Assert.Equal([4], totalCount.Numbers());
    }

    [Fact]
    public async Task The_sheet_without_parameters()
    {
        var text = await python.Client.EvaluateAsync(
            "\"The answer to the Ultimate Question of Life, the Universe, and Everything\"",
            SseFunctionType.Scalar, SseDataType.String, [], Bundle([[]]));
        var number = await python.Client.EvaluateAsync(
            "40+2", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));

        Assert.Equal(["The answer to the Ultimate Question of Life, the Universe, and Everything"], text.Strings());
        Assert.Equal([42], number.Numbers());
    }

    [Fact]
    public async Task The_string_and_numeric_sheets()
    {
        (string, SseDataType)[] text = [("String", SseDataType.String)];
        (string, SseDataType)[] number = [("Numeric", SseDataType.Numeric)];
        var same = await python.Client.EvaluateAsync("args[0]", SseFunctionType.Tensor, SseDataType.String, text,
            Bundle(Strings.Select(s => Text(s))));
        var joined = await python.Client.EvaluateAsync("\", \".join(args[0])", SseFunctionType.Aggregation,
            SseDataType.String, text, Bundle(Strings.Select(s => Text(s))));
        var numbers = await python.Client.EvaluateAsync(
            "args[0]", SseFunctionType.Tensor, SseDataType.Numeric, number, Column(Ids));
        var sum = await python.Client.EvaluateAsync(
            "sum(args[0])", SseFunctionType.Aggregation, SseDataType.Numeric, number, Column(Ids));

        Assert.Equal(Strings, same.Strings());
        Assert.Equal(["A, B, C, D"], joined.Strings());
        Assert.Equal(Ids, numbers.Numbers());
        Assert.Equal([10], sum.Numbers());
    }

    [Fact]
    public async Task The_mixed_tensor_sheet()
    {
        (string, SseDataType)[] dual = [("Mixed", SseDataType.Dual)];
        var numbers = await python.Client.EvaluateAsync(
            "args[0][0]", SseFunctionType.Tensor, SseDataType.Numeric, dual, Rows(i => [DualOf(i)]));
        var texts = await python.Client.EvaluateAsync(
            "args[0][1]", SseFunctionType.Tensor, SseDataType.String, dual, Rows(i => [DualOf(i)]));
        var added = await python.Client.EvaluateAsync(
            "args[0][0] + args[1]", SseFunctionType.Tensor, SseDataType.Numeric,
            [("Mixed", SseDataType.Dual), ("Numeric", SseDataType.Numeric)],
            Rows(i => [DualOf(i), Ids[i]]));
        var joined = await python.Client.EvaluateAsync(
            "args[0][1]+\", \" + args[1]", SseFunctionType.Tensor, SseDataType.String,
            [("Mixed", SseDataType.Dual), ("String", SseDataType.String)],
            Rows(i => [DualOf(i), Strings[i]]));

        Assert.Equal([1, 2, double.NaN, 4], numbers.Numbers());
        Assert.Equal(["one", "two", "three", "four"], texts.Strings());
        Assert.Equal([2, 4, double.NaN, 8], added.Numbers());
        Assert.Equal(["one, A", "two, B", "three, C", "four, D"], joined.Strings());
    }

    [Fact]
    public async Task The_mixed_aggregation_sheet()
    {
        (string, SseDataType)[] dual = [("Mixed", SseDataType.Dual)];
        var joined = await python.Client.EvaluateAsync(
            "\", \".join(args[0][1])", SseFunctionType.Aggregation, SseDataType.String, dual, Rows(i => [DualOf(i)]));
        var counted = await python.Client.EvaluateAsync(
            "np.count_nonzero(~np.isnan(args[0][0]))", SseFunctionType.Aggregation, SseDataType.Numeric, dual,
            Rows(i => [DualOf(i)]));

        Assert.Equal(["one, two, three, four"], joined.Strings());
        Assert.Equal([3], counted.Numbers());
    }

    private static SseBundle Column(double[] values) => Bundle(values.Select(v => Numeric(v)));

    private static SseBundle Rows(Func<int, SseValue[]> row) => Bundle(Enumerable.Range(0, Ids.Length).Select(row));

    private static SseDual DualOf(int i) => new(Mixed[i].Number, Mixed[i].Text);
}
