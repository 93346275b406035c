using Qlik.Sse;
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
            "args[0] + 1", FunctionType.Scalar, DataType.Numeric, [("ID", DataType.Numeric)], Bundle([Numeric(3)]));
        var numeric = await python.Client.EvaluateAsync(
            "args[0] + 1", FunctionType.Scalar, DataType.Numeric, [("ID", DataType.Numeric)], Column(Ids));
        var totalCount = await python.Client.EvaluateAsync(
            "len(args[0])", FunctionType.Aggregation, DataType.Numeric, [("ID", DataType.Numeric)], Column(Ids));

        Assert.Equal([4], perRow.Numbers());
        Assert.Equal([2, 3, 4, 5], numeric.Numbers());
        Assert.Equal([4], totalCount.Numbers());
    }

    [Fact]
    public async Task The_sheet_without_parameters()
    {
        var text = await python.Client.EvaluateAsync(
            "\"The answer to the Ultimate Question of Life, the Universe, and Everything\"",
            FunctionType.Scalar, DataType.String, [], Bundle([new Row()]));
        var number = await python.Client.EvaluateAsync(
            "40+2", FunctionType.Scalar, DataType.Numeric, [], Bundle([new Row()]));

        Assert.Equal(["The answer to the Ultimate Question of Life, the Universe, and Everything"], text.Strings());
        Assert.Equal([42], number.Numbers());
    }

    [Fact]
    public async Task The_string_and_numeric_sheets()
    {
        (string, DataType)[] text = [("String", DataType.String)];
        (string, DataType)[] number = [("Numeric", DataType.Numeric)];
        var same = await python.Client.EvaluateAsync("args[0]", FunctionType.Tensor, DataType.String, text,
            Bundle(Strings.Select(s => Text(s))));
        var joined = await python.Client.EvaluateAsync("\", \".join(args[0])", FunctionType.Aggregation,
            DataType.String, text, Bundle(Strings.Select(s => Text(s))));
        var numbers = await python.Client.EvaluateAsync(
            "args[0]", FunctionType.Tensor, DataType.Numeric, number, Column(Ids));
        var sum = await python.Client.EvaluateAsync(
            "sum(args[0])", FunctionType.Aggregation, DataType.Numeric, number, Column(Ids));

        Assert.Equal(Strings, same.Strings());
        Assert.Equal(["A, B, C, D"], joined.Strings());
        Assert.Equal(Ids, numbers.Numbers());
        Assert.Equal([10], sum.Numbers());
    }

    [Fact]
    public async Task The_mixed_tensor_sheet()
    {
        (string, DataType)[] dual = [("Mixed", DataType.Dual)];
        var numbers = await python.Client.EvaluateAsync(
            "args[0][0]", FunctionType.Tensor, DataType.Numeric, dual, Rows(i => [DualOf(i)]));
        var texts = await python.Client.EvaluateAsync(
            "args[0][1]", FunctionType.Tensor, DataType.String, dual, Rows(i => [DualOf(i)]));
        var added = await python.Client.EvaluateAsync(
            "args[0][0] + args[1]", FunctionType.Tensor, DataType.Numeric,
            [("Mixed", DataType.Dual), ("Numeric", DataType.Numeric)],
            Rows(i => [DualOf(i), new Dual { NumData = Ids[i] }]));
        var joined = await python.Client.EvaluateAsync(
            "args[0][1]+\", \" + args[1]", FunctionType.Tensor, DataType.String,
            [("Mixed", DataType.Dual), ("String", DataType.String)],
            Rows(i => [DualOf(i), new Dual { StrData = Strings[i] }]));

        Assert.Equal([1, 2, double.NaN, 4], numbers.Numbers());
        Assert.Equal(["one", "two", "three", "four"], texts.Strings());
        Assert.Equal([2, 4, double.NaN, 8], added.Numbers());
        Assert.Equal(["one, A", "two, B", "three, C", "four, D"], joined.Strings());
    }

    [Fact]
    public async Task The_mixed_aggregation_sheet()
    {
        (string, DataType)[] dual = [("Mixed", DataType.Dual)];
        var joined = await python.Client.EvaluateAsync(
            "\", \".join(args[0][1])", FunctionType.Aggregation, DataType.String, dual, Rows(i => [DualOf(i)]));
        var counted = await python.Client.EvaluateAsync(
            "np.count_nonzero(~np.isnan(args[0][0]))", FunctionType.Aggregation, DataType.Numeric, dual,
            Rows(i => [DualOf(i)]));

        Assert.Equal(["one, two, three, four"], joined.Strings());
        Assert.Equal([3], counted.Numbers());
    }

    private static BundledRows Column(double[] values) => Bundle(values.Select(v => Numeric(v)));

    private static BundledRows Rows(Func<int, Dual[]> row) => Bundle(Enumerable.Range(0, Ids.Length).Select(i =>
    {
        var duals = new Row();
        duals.Duals.AddRange(row(i));
        return duals;
    }));

    private static Dual DualOf(int i) => new() { NumData = Mixed[i].Number, StrData = Mixed[i].Text };
}
