using System.Reflection;
using System.Text.RegularExpressions;
using Grpc.Core;
using SsePlugin.Client;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The library-mode sample (samples/SsePlugin.Sample), an ASP.NET Core app of its own with compiled functions only,
/// run as its author would run it and called as Qlik's engine calls it.
/// </summary>
public sealed partial class SampleAppTests : IAsyncLifetime, IDisposable
{
    private static readonly string SampleApp = typeof(SampleAppTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleApp").Value!;

    private ChildProcess? _app;
    private SseClient? _client;

    private SseClient Client => _client!;

    public async Task InitializeAsync()
    {
        _app = Start("--SsePlugin:Port", "0");
        var listening = await _app.WaitForLineAsync(ListeningOn(), CallTimeout);
        _client = new SseClient(new Uri(listening.Groups[1].Value));
    }

    public void Dispose() => _client?.Dispose();

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Announces_its_functions_and_no_scripts()
    {
        var capabilities = await Client.GetCapabilitiesAsync();

        Assert.Equal("SsePlugin.Sample", capabilities.PluginIdentifier);
        Assert.False(capabilities.AllowScript);
        Assert.Equal(
            [(0, "Celsius", SseFunctionType.Scalar), (1, "Swing", SseFunctionType.Aggregation)],
            capabilities.Functions.Select(f => (f.Id, f.Name, f.FunctionType)));
    }

    [Fact]
    public async Task Answers_a_scalar_and_an_aggregation_as_Qlik_calls_them()
    {
        var celsius = await Client.ExecuteAsync(0, Bundle([Numeric(212), Numeric(32)]), Bundle([Numeric(-40)]));
        var swing = await Client.ExecuteAsync(1, Bundle([Numeric(3), Numeric(-1)]), Bundle([Numeric(7)]));

        Assert.Equal([100, 0, -40], celsius.Numbers());
        Assert.Equal([8], swing.Numbers());
    }

    [Fact]
    public async Task Refuses_scripts_as_it_has_no_script_engine()
    {
        var error = await FailsAsync(() => Client.EvaluateAsync(
            "args[0] * 2", SseFunctionType.Scalar, SseDataType.Numeric, [("x", SseDataType.Numeric)],
            Bundle([Numeric(1)])));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("no script engine is registered", error.Status.Detail);
    }

    [Fact]
    public void Runs_without_the_script_engines_and_their_libraries()
    {
        var assemblies = Directory.GetFiles(Path.GetDirectoryName(SampleApp)!, "*.dll").Select(Path.GetFileName);

        Assert.Contains("SsePlugin.Server.dll", assemblies);
        Assert.DoesNotContain(
            assemblies,
            name => name is "SsePlugin.JavaScript.dll" or "SsePlugin.R.dll" or "SsePlugin.Rserve.dll"
                or "SsePlugin.FunctionsFile.dll" or "Jint.dll" or "Newtonsoft.Json.dll");
    }

    [Theory]
    [InlineData("The script engine 'r' does not exist", "--SsePlugin:ScriptEngine", "r")]
    [InlineData("SSE1013", "--SsePlugin:Bind", "localhost")]
    [InlineData("certificate folder /nonexistent/certs", "--SsePlugin:Certs", "/nonexistent/certs")]
    [InlineData("MaxConcurrentCalls must be 0 (no limit) or more", "--SsePlugin:MaxConcurrentCalls", "-1")]
    public async Task A_mistake_stops_the_app_before_it_listens(string message, params string[] args)
    {
        await using var app = Start(["--SsePlugin:Port", "0", .. args]);

        Assert.NotEqual(0, await app.WaitForExitAsync(CallTimeout));
        Assert.Contains(message, app.Printed);
        Assert.DoesNotContain("Now listening", app.Printed);
    }

    [Fact]
    public async Task Listens_on_every_analytic_connection_of_its_settings()
    {
        await DisposeAsync();
        _app = Start("--SsePlugin:Port", "0", "--SsePlugin:Connections:second:Port", "0");
        string[] addresses =
            [.. (await _app.WaitForLinesAsync(ListeningOn(), 2, CallTimeout)).Select(m => m.Groups[1].Value)];

        foreach (var address in addresses)
        {
            using var client = new SseClient(new Uri(address));
            var capabilities = await client.GetCapabilitiesAsync();
            Assert.Equal(2, capabilities.Functions.Count);
        }

        Assert.Equal(2, addresses.Distinct().Count());
    }

    private static ChildProcess Start(params string[] args) =>
        ChildProcess.Start("dotnet", [SampleApp, .. args], Path.GetDirectoryName(SampleApp));

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
