using Grpc.Core;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host;
using SsePlugin.Server.Discovery;
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
            { "Id": 301, "Name": "Labels", "FunctionType": "Aggregation", "ReturnType": "String", "Engine": "javascript",
              "Params": { "name": 0, "value": 1 }, "Script": "q => q.name.map((n, i) => n + '=' + q.value[i]).join(';')" },
            { "Id": 302, "Name": "Constant", "FunctionType": 0, "ReturnType": 1, "Script": "42" }
          ]
        }
        """;

    // The R plugin's own FuncDefs.json, as its users have it.
    private const string RPluginFunctions = """
        {
            "Functions" : [
                {
                    "Id" : 0,
                    "Name" : "ConcatStringsTensor",
                    "FunctionType" : 2,
                    "ReturnType": 0,
                    "CacheResultInQlik" : "true",
                    "FunctionRScript": "paste(q$str1,q$str2);",
                    "Params" : { "str1" : 0, "str2" : 0 }
                }
            ]
        }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-").FullName;

    [Fact]
    public async Task With_scripts_switched_off_capabilities_say_so_and_scripts_are_refused()
    {
        await using var host = await TestHost.StartAsync("--allow-script", "false");

        var capabilities = await host.Client.GetCapabilitiesAsync(new Empty());
        var error = await FailsAsync(() => host.Client.EvaluateAsync("1", FunctionType.Scalar, DataType.Numeric, [], Bundle([new Row()])));

        Assert.False(capabilities.AllowScript);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("Script evaluation is disabled on this plugin", error.Status.Detail);
    }

    [Fact]
    public async Task Functions_from_a_functions_file_are_served_while_scripts_from_Qlik_are_off()
    {
        await using var host = await TestHost.StartAsync("--allow-script", "false", "--functions", Write(JavaScriptFunctions));

        var functions = (await host.Client.GetCapabilitiesAsync(new Empty())).Functions.ToDictionary(f => f.Name);
        var margin = await host.Client.ExecuteAsync(300, Bundle([Numeric(10, 4), Numeric(4, 1)]));
        var labels = await host.Client.ExecuteAsync(Headers(301), [Bundle([TextAndNumber("a", 1), TextAndNumber("b", 2)])]);
        var constant = await host.Client.ExecuteAsync(302, Bundle([new Row(), new Row()]));

        Assert.Equal([("sales", DataType.Numeric), ("cost", DataType.Numeric)], functions["Margin"].Params.Select(p => (p.Name, p.DataType)));
        Assert.Equal((FunctionType.Aggregation, DataType.String), (functions["Labels"].FunctionType, functions["Labels"].ReturnType));
        Assert.Equal([0.6, 0.75], margin.Numbers());
        Assert.True(margin.NoStore);
        Assert.Equal(["a=1;b=2"], labels.Strings());
        Assert.False(labels.NoStore);
        Assert.Equal([42, 42], constant.Numbers());
    }

    [Fact]
    public async Task An_R_plugin_functions_file_is_read_and_needs_the_R_engine()
    {
        await using var app = SsePluginHost.Build(["--port", "0", "--functions", Write(RPluginFunctions)]);

        var error = Assert.Throws<SseConfigurationException>(() => SsePluginHost.CheckAndAnnounce(app));

        var diagnostic = Assert.Single(error.Diagnostics);
        Assert.Equal(DiagnosticCodes.InvalidFunctionsFile, diagnostic.Code);
        Assert.Contains("(ConcatStringsTensor)", diagnostic.Member);
        Assert.Contains("needs the 'r' script engine", diagnostic.Problem);
    }

    [Theory]
    [InlineData("""{ "Functions": [ { "Id": 5, "Name": "Clash", "FunctionType": 2, "ReturnType": 1, "Script": "1" } ] }""", "SSE1001", "ColumnOperations.SumOfRows and ")]
    [InlineData("""{ "Functions": [ { "Id": 310, "Name": "Bad name", "FunctionType": 2, "ReturnType": 1, "Script": "1" } ] }""", "SSE1012", "letters, digits and underscores")]
    [InlineData("""{ "Functions": [ { "Id": 311, "Name": "Broken", "FunctionType": 2, "ReturnType": 1, "Script": "1 +" } ] }""", "SSE1012", "does not parse")]
    [InlineData("""{ "Functions": [ { "Id": 312, "Name": "NoType", "FunctionType": 7, "ReturnType": 1, "Script": "1" } ] }""", "SSE1012", "FunctionType is 7")]
    [InlineData("""{ "Functions": [ { "Id": 313, "Name": "NoScript", "FunctionType": 2, "ReturnType": 1 } ] }""", "SSE1012", "no \"Script\"")]
    [InlineData("""{ "Functions": [ """, "SSE1012", "could not be read")]
    public async Task Mistakes_in_the_functions_file_stop_the_host_with_a_clear_message(string json, string code, string message)
    {
        await using var app = SsePluginHost.Build(["--port", "0", "--functions", Write(json)]);

        var error = Assert.Throws<SseConfigurationException>(() => SsePluginHost.CheckAndAnnounce(app));

        Assert.Equal(code, Assert.Single(error.Diagnostics).Code);
        Assert.Contains(message, error.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);


    private string Write(string json)
    {
        var path = Path.Combine(_folder, $"functions-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
