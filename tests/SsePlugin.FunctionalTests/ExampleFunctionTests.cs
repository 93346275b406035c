using SsePlugin.FunctionalTests.Infrastructure;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>The example functions, called as Qlik's example apps call them.</summary>
[Collection(SharedHost.Name)]
public sealed class ExampleFunctionTests(HostFixture host)
{
    [Fact]
    public async Task GetCapabilities_lists_every_function_with_parameters_in_declaration_order()
    {
        var capabilities = await host.Client.GetCapabilitiesAsync();

        Assert.True(capabilities.AllowScript);
        Assert.Equal("SsePlugin", capabilities.PluginIdentifier);
        Assert.Matches(@"^\d+\.\d+\.\d+$", capabilities.PluginVersion);
        var byName = capabilities.Functions.ToDictionary(f => f.Name);
        Assert.Equal(
            [
                "HelloWorld", "HelloWorldAggr", "Cache", "NoCache", "EchoTable_3", "SumOfRows", "SumOfColumn",
                "MaxOfColumns_2"],
            capabilities.Functions.Where(f => f.Id < 100).Select(f => f.Name));
        var sumOfRows = byName["SumOfRows"];
        Assert.Equal(
            (5, SseFunctionType.Tensor, SseDataType.Numeric),
            (sumOfRows.Id, sumOfRows.FunctionType, sumOfRows.ReturnType));
        Assert.Equal(
            [("col1", SseDataType.Numeric), ("col2", SseDataType.Numeric)],
            sumOfRows.Parameters.Select(p => (p.Name, p.DataType)));
        Assert.Equal(SseFunctionType.Aggregation, byName["HelloWorldAggr"].FunctionType);
        Assert.Equal(["col1", "col2", "col3"], byName["EchoTable_3"].Parameters.Select(p => p.Name));
        Assert.Equal(SseDataType.String, byName["EchoTable_3"].ReturnType);
        Assert.Equal(SseDataType.Numeric, byName["MaxOfColumns_2"].ReturnType);
        Assert.Equal(SseDataType.Dual, byName["Pivot"].ReturnType);
        Assert.Equal(SseDataType.Dual, byName["Describe"].Parameters.Single().DataType);
        Assert.Equal(
            [("value", SseDataType.Numeric)], byName["RunningTotal"].Parameters.Select(p => (p.Name, p.DataType)));
    }

    [Fact]
    public async Task SumOfRows_answers_every_row_in_order_across_bundles_and_passes_nulls_through()
    {
        var answer = await host.Client.ExecuteAsync(
            5,
            Bundle([Numeric(1, 2), Numeric(-3.5, 0.5)]),
            Bundle([Numeric(double.NaN, 1)]),
            Bundle([]),
            Bundle([Numeric(1e300, 1e300), Numeric(0, 0)]));

        Assert.Equal([3, -3, double.NaN, 2e300, 0], answer.Numbers());
        Assert.All(answer.Rows, r => Assert.Single(r));
        Assert.Null(answer.Table);
        Assert.False(answer.NoStore);
    }

    [Fact]
    public async Task HelloWorld_echoes_strings_including_empty_and_non_ascii_ones()
    {
        var answer = await host.Client.ExecuteAsync(
            0, Bundle([Text("Hello"), Text(""), Text("Zürich ✓"), Text(new string('x', 10_000))]));

        Assert.Equal(["Hello", "", "Zürich ✓", new string('x', 10_000)], answer.Strings());
    }

    [Fact]
    public async Task HelloWorldAggr_joins_all_strings_into_one_row()
    {
        var answer = await host.Client.ExecuteAsync(1, Bundle([Text("a"), Text("b")]), Bundle([Text("c")]));

        Assert.Equal(["a, b, c"], answer.Strings());
    }

    [Fact]
    public async Task NoCache_tells_Qlik_not_to_cache_and_Cache_does_not()
    {
        var cached = await host.Client.ExecuteAsync(2, Bundle([Text("x")]));
        var uncached = await host.Client.ExecuteAsync(3, Bundle([Text("x")]));

        Assert.False(cached.NoStore);
        Assert.Equal("no-store", uncached.Headers.Get("qlik-cache")?.Value);
        Assert.Matches(@"^x \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$", cached.Strings().Single());
        Assert.Matches(@"^x \d{4}-\d\d-\d\d", uncached.Strings().Single());
    }

    [Fact]
    public async Task EchoTable_3_returns_its_table_without_a_description_as_Qlik_s_example_plugin_does()
    {
        var answer = await host.Client.ExecuteAsync(4, Bundle([Text("a", "b", "c"), Text("d", "", "f")]));

        // Without a description Qlik names the fields Field1 to Field3, which the HelloWorld app's script renames.
        Assert.Null(answer.Table);
        Assert.Equal(
            [["a", "b", "c"], ["d", "", "f"]], answer.Rows.Select(r => r.Select(d => d.Text).ToArray()));
    }

    [Fact]
    public async Task SumOfColumn_sums_all_bundles_skipping_nulls()
    {
        var answer = await host.Client.ExecuteAsync(
            6, Bundle([Numeric(1), Numeric(2)]), Bundle([Numeric(double.NaN), Numeric(3.5)]));

        Assert.Equal([6.5], answer.Numbers());
    }

    [Fact]
    public async Task MaxOfColumns_2_answers_one_row_of_Max1_and_Max2()
    {
        var answer = await host.Client.ExecuteAsync(
            7, Bundle([Numeric(1, -5), Numeric(7, -9)]), Bundle([Numeric(3, double.NaN)]));

        Assert.Equal("MaxOfColumns", answer.Table!.Name);
        Assert.Equal(["Max1", "Max2"], answer.Table.Fields.Select(f => f.Name));
        Assert.All(answer.Table.Fields, f => Assert.Equal(SseDataType.Numeric, f.DataType));
        Assert.Equal([7, -5], answer.Rows.Single().Select(d => d.Number));
    }

    [Fact]
    public async Task A_large_call_is_answered_in_order_in_bundles_under_the_engines_4_MiB_limit()
    {
        const int rowsPerBundle = 2000;
        const int bundles = 250;
        var requests = Enumerable.Range(0, bundles)
            .Select(b => Bundle(Enumerable.Range(b * rowsPerBundle, rowsPerBundle).Select(i => Numeric(i, 0.5))))
            .ToList();

        var answer = await host.Client.ExecuteAsync(Headers(5), requests);

        Assert.Equal(rowsPerBundle * bundles, answer.Rows.Count);
        Assert.Equal(Enumerable.Range(0, rowsPerBundle * bundles).Select(i => i + 0.5), answer.Numbers());
        Assert.InRange(answer.Messages, 1, bundles);
    }
}
