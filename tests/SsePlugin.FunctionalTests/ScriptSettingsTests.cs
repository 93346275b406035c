using Grpc.Core;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host;
using SsePlugin.Server.Catalog;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>Switching scripts off, and functions an administrator defines in a functions file.</summary>
public sealed class ScriptSettingsTests : IDisposable
{
    private const string JavaScriptFunctions = """
        {
          "Functions": [
            { "Id": 300, "Name": "Margin", "FunctionType": 2, "ReturnType": 1, "CacheResultInQlik": "false",
              "Params": { "sales": 1, "cost": 1 }, "Script": "(args[0] - args[1]) / args[0]" },
            { "Id": 301, "Name": "Labels", "FunctionType": "Aggregation", "ReturnType": "String",
              "Engine": "javascript", "Params": { "name": 0, "value": 1 },
              "Script": "q => q.name.map((n, i) => n + '=' + q.value[i]).join(';')" },
            { "Id": 302, "Name": "Constant", "FunctionType": 0, "ReturnType": 1, "Script": "42" },
            { "Id": 303, "Name": "Labelled", "FunctionType": 2, "ReturnType": 2, "Params": { "d": 2 },
              "Script": "args[0].num > 0 ? args[0] : { num: -args[0].num, str: 'minus ' + args[0].str }" },
            { "Id": 304, "Name": "Counted", "FunctionType": 1, "ReturnType": 2, "Params": { "v": 1 },
              "Script": "({ num: args[0].length, str: args[0].length + ' values' })" },
            { "Id": 305, "Name": "HalfOrNull", "FunctionType": 2, "ReturnType": 2, "Params": { "v": 1 },
              "Script": "args[0] > 0 ? args[0] / 2 : NaN" }
          ]
        }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-").FullName;

    [Fact]
    public async Task With_scripts_switched_off_capabilities_say_so_and_scripts_are_refused()
    {
        await using var host = await TestHost.StartAsync("--allow-script", "false");

        var capabilities = await host.Client.GetCapabilitiesAsync();
        var error = await FailsAsync(
            () => host.Client.EvaluateAsync("1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]])));

        Assert.False(capabilities.AllowScript);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("Script evaluation is disabled on this plugin", error.Status.Detail);
    }

    [Fact]
    public async Task Functions_from_a_functions_file_are_served_while_scripts_from_Qlik_are_off()
    {
        await using var host = await TestHost.StartAsync(
            "--allow-script", "false", "--functions", Write(JavaScriptFunctions));

        var functions = (await host.Client.GetCapabilitiesAsync()).Functions.ToDictionary(f => f.Name);
        var margin = await host.Client.ExecuteAsync(300, Bundle([Numeric(10, 4), Numeric(4, 1)]));
        var labels = await host.Client.ExecuteAsync(
            Headers(301), [Bundle([TextAndNumber("a", 1), TextAndNumber("b", 2)])]);
        var constant = await host.Client.ExecuteAsync(302, Bundle([[], []]));
        var counted = await host.Client.ExecuteAsync(304, Bundle([Numeric(1), Numeric(2)]));
        var halfOrNull = await host.Client.ExecuteAsync(305, Bundle([Numeric(3), Numeric(-1)]));
        var labelled = await host.Client.ExecuteAsync(
            303,
            Bundle(
            [
                [new SseDual(3, "three")],
                [new SseDual(-2, "two")],
            ]));

        Assert.Equal(
            [("sales", SseDataType.Numeric), ("cost", SseDataType.Numeric)],
            functions["Margin"].Parameters.Select(p => (p.Name, p.DataType)));
        Assert.Equal(
            (SseFunctionType.Aggregation, SseDataType.String),
            (functions["Labels"].FunctionType, functions["Labels"].ReturnType));
        Assert.Equal([0.6, 0.75], margin.Numbers());
        Assert.True(margin.NoStore);
        Assert.Equal(["a=1;b=2"], labels.Strings());
        Assert.False(labels.NoStore);
        Assert.Equal([42, 42], constant.Numbers());
        Assert.Equal([3, 2], labelled.Numbers());
        Assert.Equal(["three", "minus two"], labelled.Strings());
        Assert.Equal([2], counted.Numbers());
        Assert.Equal(["2 values"], counted.Strings());
        Assert.Equal([1.5, double.NaN], halfOrNull.Numbers());
        Assert.Equal(["1.5", ""], halfOrNull.Strings());
    }

    [Fact]
    public async Task Of_many_functions_an_unknown_id_lists_twenty_so_that_the_message_fits_Qlik()
    {
        var definitions = Enumerable.Range(400, 30).Select(id =>
            $$"""{ "Id": {{id}}, "Name": "Forecast_Revenue_By_Region_{{id}}", "FunctionType": 2, "ReturnType": 1, """
            + """ "Script": "1" }""");
        var file = Write($$"""{ "Functions": [ {{string.Join(", ", definitions)}} ] }""");
        await using var host = await TestHost.StartAsync("--examples", "false", "--functions", file);

        var error = await FailsAsync(() => host.Client.ExecuteAsync(99, Bundle([Numeric(1)])));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Matches(
            @"it has \d+ functions: -?\d+ \w+(, -?\d+ \w+){19} and \d+ more \(GetCapabilities lists them all\)\.",
            error.Status.Detail);
        Assert.DoesNotContain("Forecast_Revenue_By_Region_429", error.Status.Detail);
    }

    [Fact]
    public async Task A_functions_file_is_read_as_leniently_as_the_R_plugin_reads_it()
    {
        // As the R plugin's own FuncDefs.json: a line break inside a script's string, Windows line ends, a flag as a
        // string.
        var path = Write(
            "// The R plugin's functions\r\n{ \"Functions\": [\r\n  // a comment\r\n  { \"Id\": 320, \"Name\": "
            + "\"TwoLines\", \"FunctionType\": 2, \"ReturnType\": 1, \"Params\": { \"x\": 1 },\r\n"
            + "    \"Script\": \"var t = args[0] * 2;\r\nt + 1\", \"CacheResultInQlik\": \"false\" },\r\n] }");
        await using var host = await TestHost.StartAsync("--functions", path);

        var answer = await host.Client.ExecuteAsync(320, Bundle([Numeric(1), Numeric(20)]));

        Assert.Equal([3, 41], answer.Numbers());
        Assert.True(answer.NoStore);
    }

    [Fact]
    public async Task One_process_serves_several_analytic_connections_each_with_its_own_functions_and_settings()
    {
        await using var host = await TestHost.StartAsync(
            "--SsePlugin:Connections:Fixed:Port", "0",
            "--SsePlugin:Connections:Fixed:AllowScript", "false",
            "--SsePlugin:Connections:Fixed:FunctionsFile", Write(JavaScriptFunctions));
        var clients = host.Addresses.Select(a => host.Connect(null, a)).ToList();
        var capabilities = await Task.WhenAll(clients.Select(c => c.GetCapabilitiesAsync()));
        var (main, fixedFunctions) = capabilities[0].AllowScript ? (clients[0], clients[1]) : (clients[1], clients[0]);

        var margin = await fixedFunctions.ExecuteAsync(300, Bundle([Numeric(10, 7)]));
        var notThere = await FailsAsync(() => main.ExecuteAsync(300, Bundle([Numeric(10, 7)])));
        var script = await main.EvaluateAsync(
            "args[0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, [("x", SseDataType.Numeric)],
            Bundle([Numeric(21)]));
        var refused = await FailsAsync(
            () => fixedFunctions.EvaluateAsync(
                "args[0] * 2", SseFunctionType.Tensor, SseDataType.Numeric, [("x", SseDataType.Numeric)],
                Bundle([Numeric(21)])));

        Assert.Equal(2, capabilities.Length);
        Assert.Single(capabilities, c => c.AllowScript);
        Assert.All(capabilities, c => Assert.Contains(c.Functions, f => f.Id == 100));
        Assert.Single(capabilities, c => c.Functions.Any(f => f.Name == "Margin"));
        Assert.Equal([0.3], margin.Numbers(), (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal(StatusCode.NotFound, notThere.StatusCode);
        Assert.Equal([42], script.Numbers());
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [Fact]
    public void Connections_that_share_a_port_or_name_an_unknown_engine_stop_the_host()
    {
        var error = Assert.Throws<SseConfigurationException>(() => SsePluginHost.Build(
            [
                "--port", "50999", "--SsePlugin:Connections:Twin:Port", "50999", "--SsePlugin:Connections:Odd:Port",
                "50998", "--SsePlugin:Connections:Odd:ScriptEngine", "cobol"]));

        Assert.Equal(
            [DiagnosticCodes.InvalidConnection, DiagnosticCodes.InvalidConnection],
            error.Diagnostics.Select(d => d.Code));
        Assert.Contains("Port 50999 is also the port of connection 'main'", error.Message);
        Assert.Contains("The script engine 'cobol' does not exist", error.Message);
    }

    [Theory]
    [InlineData(
        """{ "Functions": [ { "Id": 5, "Name": "Clash", "FunctionType": 2, "ReturnType": 1, "Script": "1" } ] }""",
        "SSE1001",
        "ColumnOperations.SumOfRows (ColumnOperations.cs:")]
    [InlineData(
        "{ \"Functions\": [\n { \"Id\": 320, \"Name\": \"One\", \"FunctionType\": 2, \"ReturnType\": 1, "
        + "\"Script\": \"1\" },\n { \"Id\": 320, \"Name\": \"Two\", \"FunctionType\": 2, \"ReturnType\": 1, "
        + "\"Script\": \"2\" } ] }",
        "SSE1001",
        ".json:2) and functions-")]
    [InlineData(
        "{ \"Functions\": [\n\n { \"Id\": 321, \"Name\": \"Odd\", \"FunctionType\": 2, \"ReturnType\": 9, "
        + "\"Script\": \"1\" } ] }",
        "SSE1012",
        ".json:3): ReturnType is 9")]
    [InlineData(
        """{ "Functions": [ { "Id": 310, "Name": "Bad name", "FunctionType": 2, "ReturnType": 1, "Script": "1" } ] }""",
        "SSE1012",
        "letters, digits and underscores")]
    [InlineData(
        """{ "Functions": [ { "Id": 311, "Name": "Broken", "FunctionType": 2, "ReturnType": 1, "Script": "1 +" } ] }""",
        "SSE1012",
        "does not parse")]
    [InlineData(
        """{ "Functions": [ { "Id": 312, "Name": "NoType", "FunctionType": 7, "ReturnType": 1, "Script": "1" } ] }""",
        "SSE1012",
        "FunctionType is 7")]
    [InlineData(
        """{ "Functions": [ { "Id": 313, "Name": "NoScript", "FunctionType": 2, "ReturnType": 1 } ] }""",
        "SSE1012",
        "no \"Script\"")]
    [InlineData("""{ "Functions": [ """, "SSE1012", "could not be read")]
    [InlineData(
        """{ "Functions": [ { "Id": 1.5, "Name": "Half", "FunctionType": 2, "ReturnType": 1, "Script": "1" } ] }""",
        "SSE1012",
        "Id is 1.5, which is not a whole number")]
    [InlineData(
        """{ "Functions": [] } { "Functions": [] }""",
        "SSE1012",
        "Additional text encountered after finished reading JSON content")]
    [InlineData(
        """{ "Functions": [ { "Id": 316, "Name": "Twice", "FunctionType": 2, "ReturnType": 1, "Params": { "x": 1,"""
        + """ "x": 0 }, "Script": "1" } ] }""",
        "SSE1012",
        "Property with the name 'x' already exists")]
    [InlineData(
        """{ "Functions": [ { "Id": 315, "Name": "Listed", "FunctionType": 2, "ReturnType": 1, "Script": ["1"] } ] }""",
        "SSE1012",
        "Script is [\"1\"], which is not a string")]
    [InlineData(
        """{ "Functions": [ { "Id": 314, "Name": "Snake", "FunctionType": 2, "ReturnType": 1, "Script": "1","""
        + """ "Engine": "julia" } ] }""",
        "SSE1012",
        "needs the 'julia' script engine")]
    [InlineData(
        """{ "Functions": [ { "Id": 317, "Name": "Typo", "FunctionType": 2, "ReturnType": 1, "Parms": { "x": 1 },"""
        + """ "Script": "1" } ] }""",
        "SSE1012",
        "\"Parms\" is not a key of a function; the keys are Id, Name, FunctionType, ReturnType, Params,")]
    [InlineData("""{ "Functions": [ 5 ] }""", "SSE1012", "The definition is 5, not an object.")]
    public void Mistakes_in_the_functions_file_stop_the_host_with_a_clear_message(
        string json, string code, string message)
    {
        var error = Assert.Throws<SseConfigurationException>(
            () => SsePluginHost.Build(["--port", "0", "--examples", "true", "--functions", Write(json)]));

        Assert.Equal(code, Assert.Single(error.Diagnostics).Code);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Every_mistake_of_a_function_in_the_functions_file_is_reported()
    {
        var file = Write(
            """{ "Functions": [ { "Id": 318, "Name": "Many", "FunctionType": 7, "ReturnType": "numerc", """
            + """ "Params": { "x": 9 }, "Script": "1", "CacheResultsInQlik": false } ] }""");

        var error = Assert.Throws<SseConfigurationException>(
            () => SsePluginHost.Build(["--port", "0", "--functions", file]));

        Assert.Equal(
            4,
            error.Diagnostics.Count(d => d.Code == "SSE1012" && d.Member.Contains("(Many)", StringComparison.Ordinal)));
        Assert.Contains("\"CacheResultsInQlik\" is not a key", error.Message);
        Assert.Contains("FunctionType is 7", error.Message);
        Assert.Contains("ReturnType is \"numerc\"", error.Message);
        Assert.Contains("Params.x is 9", error.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);


    private string Write(string json)
    {
        var path = Path.Combine(_folder, $"functions-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
