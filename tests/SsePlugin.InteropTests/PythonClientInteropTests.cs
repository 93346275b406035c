using Xunit;
using static SsePlugin.InteropTests.Dual;

namespace SsePlugin.InteropTests;

/// <summary>
/// The built host with its default settings, called by Python's grpcio (gRPC C-core, as Qlik's engine is) with Qlik's
/// binary request headers. Each call's function id is looked up by name in GetCapabilities, as Qlik does.
/// </summary>
public sealed class PythonClientInteropTests(InteropFixture plugin) : IClassFixture<InteropFixture>
{
    private const string TimestampPattern = @" \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$";

    [Fact]
    public Task GetCapabilities_lists_the_eight_example_functions_with_types_and_params_in_order() =>
        plugin.CallAsync(Call.GetCapabilities(), result =>
        {
            var capabilities = result.Ok().Capabilities!;
            Assert.True(capabilities.AllowScript);
            Assert.Equal("SsePlugin", capabilities.PluginIdentifier);
            Assert.Matches(@"^\d+\.\d+\.\d+$", capabilities.PluginVersion);
            Assert.Equal(
                [
                    "0 HelloWorld TENSOR STRING (str1 STRING)",
                    "1 HelloWorldAggr AGGREGATION STRING (str1 STRING)",
                    "2 Cache TENSOR STRING (str1 STRING)",
                    "3 NoCache TENSOR STRING (str1 STRING)",
                    "4 EchoTable_3 TENSOR STRING (col1 STRING, col2 STRING, col3 STRING)",
                    "5 SumOfRows TENSOR NUMERIC (col1 NUMERIC, col2 NUMERIC)",
                    "6 SumOfColumn AGGREGATION NUMERIC (col1 NUMERIC)",
                    "7 MaxOfColumns_2 TENSOR NUMERIC (col1 NUMERIC, col2 NUMERIC)",
                ],
                capabilities.Functions.Select(f =>
                    $"{f.FunctionId} {f.Name} {f.FunctionType} {f.ReturnType} "
                    + $"({string.Join(", ", f.Params.Select(p => $"{p.Name} {p.DataType}"))})"));
        });

    [Fact]
    public Task HelloWorld_echoes_every_string_across_bundles_including_empty_and_non_ascii() =>
        plugin.CallAsync(
            Call.Execute(
                "HelloWorld",
                [[S("Hello")], [S("")]],
                [[S("Zürich ✓")]],
                [[S("world")], [S("")], [S("日本")]]),
            result => Assert.Equal(
                ["Hello", "", "Zürich ✓", "world", "", "日本"],
                result.Ok().Column(0).Select(d => d.Str)));

    [Fact]
    public Task HelloWorldAggr_joins_all_strings_into_one_row() =>
        plugin.CallAsync(
            Call.Execute("HelloWorldAggr", [[S("one")], [S("two")]], [[S("Zürich ✓")]]),
            result => Assert.Equal("one, two, Zürich ✓", Assert.Single(result.Ok().Column(0)).Str));

    [Fact]
    public Task NoCache_answers_with_qlik_cache_no_store_and_Cache_does_not() =>
        plugin.CallAsync(
            [Call.Execute("Cache", [[S("a")], [S("b")]]), Call.Execute("NoCache", [[S("a")], [S("b")]])],
            results =>
            {
                var (cache, noCache) = (results[0].Ok(), results[1].Ok());
                Assert.Equal("no-store", noCache.InitialMetadata!.GetValueOrDefault("qlik-cache"));
                Assert.DoesNotContain("qlik-cache", cache.InitialMetadata!.Keys);
                Assert.DoesNotContain("qlik-cache", cache.TrailingMetadata!.Keys);
                foreach (var result in results)
                {
                    Assert.Collection(
                        result.Column(0),
                        d => Assert.Matches("^a" + TimestampPattern, d.Str),
                        d => Assert.Matches("^b" + TimestampPattern, d.Str));
                }
            });

    [Fact]
    public Task EchoTable_3_returns_its_columns_without_a_table_description() =>
        plugin.CallAsync(
            Call.Execute("EchoTable_3", [[S("a1"), S("b1"), S("c1")]], [[S("a2"), S(""), S("Zürich ✓")]]),
            result =>
            {
                Assert.Equal(
                    [["a1", "b1", "c1"], ["a2", "", "Zürich ✓"]],
                    result.Ok().Rows!.Select(row => row.Select(d => d.Str).ToArray()));
                Assert.Null(result.TableDescription);
            });

    [Fact]
    public Task SumOfRows_adds_each_row_in_order_and_gives_NaN_for_NaN() =>
        plugin.CallAsync(
            Call.Execute(
                "SumOfRows",
                [[N(1), N(2)], [N(3.5), N(-1)], [N(double.NaN), N(4)]],
                [[N(10), N(double.NaN)], [N(-2.25), N(0.25)]],
                [[N(0), N(0)], [N(1e6), N(1)], [N(7), N(8)]]),
            result => Assert.Equal(
                [3, 2.5, double.NaN, double.NaN, -2, 0, 1_000_001, 15],
                result.Ok().Column(0).Select(d => d.Num!.Value)));

    [Fact]
    public Task SumOfColumn_sums_all_bundles_and_skips_NaN() =>
        plugin.CallAsync(
            Call.Execute("SumOfColumn", [[N(1)], [N(double.NaN)], [N(2.5)]], [[N(-0.5)]]),
            result => Assert.Equal(3, Assert.Single(result.Ok().Column(0)).Num));

    [Fact]
    public Task MaxOfColumns_2_returns_one_row_with_a_table_description() =>
        plugin.CallAsync(
            Call.Execute("MaxOfColumns_2", [[N(1), N(10)], [N(5), N(double.NaN)]], [[N(3), N(2)]]),
            result =>
            {
                Assert.Equal([5d, 10d], Assert.Single(result.Ok().Rows!).Select(d => d.Num!.Value));
                AssertTable(result, 1, "Max1 NUMERIC", "Max2 NUMERIC");
            });

    [Fact]
    public Task Large_SumOfRows_call_returns_every_row_in_order()
    {
        const int Bundles = 100, RowsPerBundle = 2_000;
        var bundles = Enumerable.Range(0, Bundles)
            .Select(
                b => Enumerable.Range(b * RowsPerBundle, RowsPerBundle).Select(i => new[] { N(i), N(0.5) }).ToArray())
            .ToArray();
        return plugin.CallAsync(
            Call.Execute("SumOfRows", bundles),
            result => Assert.Equal(
                Enumerable.Range(0, Bundles * RowsPerBundle).Select(i => i + 0.5),
                result.Ok().Column(0).Select(d => d.Num!.Value)));
    }

    [Fact]
    public Task ScriptEval_runs_the_JavaScript_once_per_row_in_order() =>
        plugin.CallAsync(
            Call.EvaluateScript(
                "args[0] + args[1]", "SCALAR", "NUMERIC", [new("a", "NUMERIC"), new("b", "NUMERIC")],
                [[N(1), N(2)], [N(double.NaN), N(2)]],
                [[N(0.5), N(2)]]),
            result => Assert.Equal([3, double.NaN, 2.5], result.Ok().Column(0).Select(d => d.Num!.Value)));

    [Fact]
    public Task ScriptAggrStr_sees_the_columns_by_parameter_name() =>
        plugin.CallAsync(
            Call.EvaluateScript(
                "q.Name.join(', ')", "AGGREGATION", "STRING", [new("Name", "STRING")], [[S("a")], [S("Zürich ✓")]],
                [[S("")]]),
            result => Assert.Equal("a, Zürich ✓, ", Assert.Single(result.Ok().Column(0)).Str));

    [Fact]
    public Task Script_answering_an_object_of_arrays_returns_a_table_with_a_table_description() =>
        plugin.CallAsync(
            Call.EvaluateScript(
                "q => ({ Name: q.Name, Len: q.Name.map(s => s.length) })", "TENSOR", "STRING", [new("Name", "STRING")],
                [[S("ab")]],
                [[S("Zürich ✓")]]),
            result =>
            {
                Assert.Equal(["ab 2", "Zürich ✓ 8"], result.Ok().Rows!.Select(row => $"{row[0].Str} {row[1].Num}"));
                AssertTable(result, 2, "Name STRING", "Len NUMERIC");
            });

    [Fact]
    public Task Script_that_throws_is_INVALID_ARGUMENT_with_the_scripts_message() =>
        plugin.ExpectFailureAsync(
            Call.EvaluateScript("throw new Error('boom')", "SCALAR", "NUMERIC", [new("a", "NUMERIC")], [[N(1)]]),
            "INVALID_ARGUMENT",
            "ScriptEval",
            "boom");

    [Fact]
    public Task Script_of_150_KB_is_read_from_its_header() =>
        plugin.CallAsync(
            Call.EvaluateScript(
                "args[0] +" + new string(' ', 150_000) + "1", "SCALAR", "NUMERIC", [new("a", "NUMERIC")], [[N(1)]]),
            result => Assert.Equal([2.0], result.Ok().Column(0).Select(d => d.Num)));

    [Fact]
    public Task Error_of_100_000_characters_arrives_shortened_instead_of_overflowing_the_clients_header_limit() =>
        plugin.ExpectFailureAsync(
            Call.EvaluateScript("throw 'é'.repeat(100000)", "SCALAR", "NUMERIC", [new("a", "NUMERIC")], [[N(1)]]),
            "INVALID_ARGUMENT",
            "ScriptEval: the script failed: ééé",
            "é [...]");

    [Fact]
    public Task Table_description_too_large_for_the_clients_header_limit_is_RESOURCE_EXHAUSTED() =>
        plugin.ExpectFailureAsync(
            Call.EvaluateScript(
                "q => { const t = {}; for (let i = 0; i < 300; i++) t['Field_name_number_' + i] = q.a; return t }",
                "TENSOR",
                "NUMERIC",
                [new("a", "NUMERIC")],
                [[N(1)]]),
            "RESOURCE_EXHAUSTED",
            "table description (300 fields)",
            "Return fewer fields");

    [Fact]
    public Task Unknown_function_id_is_NOT_FOUND_and_names_the_id() =>
        plugin.ExpectFailureAsync(
            new Call("ExecuteFunction", FunctionId: 99, Bundles: [[[S("x")]]]), "NOT_FOUND", "99");

    [Fact]
    public Task Missing_function_header_is_INVALID_ARGUMENT() =>
        plugin.ExpectFailureAsync(
            new Call("ExecuteFunction", "HelloWorld", FunctionHeader: false, Bundles: [[[S("x")]]]),
            "INVALID_ARGUMENT",
            "qlik-functionrequestheader-bin");

    [Fact]
    public Task Function_header_sent_twice_is_INVALID_ARGUMENT_even_when_one_is_empty() =>
        plugin.ExpectFailureAsync(
            new Call("ExecuteFunction", FunctionId: 5, ExtraFunctionIds: [0], Bundles: [[[N(1), N(2)]]]),
            "INVALID_ARGUMENT",
            "The 'qlik-functionrequestheader-bin' header was sent more than once");

    [Fact]
    public Task Row_with_the_wrong_number_of_values_is_INVALID_ARGUMENT_naming_the_function() =>
        plugin.ExpectFailureAsync(Call.Execute("SumOfRows", [[N(1), N(2)], [N(3)]]), "INVALID_ARGUMENT", "SumOfRows");

    [Fact]
    public Task Text_for_a_numeric_parameter_is_INVALID_ARGUMENT_naming_function_and_parameter() =>
        plugin.ExpectFailureAsync(
            Call.Execute("SumOfRows", [[N(1), S("abc")]]), "INVALID_ARGUMENT", "SumOfRows", "col2", "abc");

    private static void AssertTable(CallResult result, long rows, params string[] fields)
    {
        var table = result.TableDescription;
        Assert.True(table is not null, "The initial metadata has no qlik-tabledescription-bin header.");
        Assert.Equal(fields, table.Fields.Select(f => $"{f.Name} {f.DataType}"));
        Assert.Equal(rows, table.NumberOfRows);
    }
}
