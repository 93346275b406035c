using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using Qlik.Sse;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// The library-mode sample (samples/SsePlugin.Sample), an ASP.NET Core app of its own with compiled functions only,
/// run as its author would run it and called as Qlik's engine calls it.
/// </summary>
public sealed partial class SampleAppTests : IAsyncLifetime
{
    private static readonly string SampleApp = typeof(SampleAppTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleApp").Value!;

    private Process? _app;
    private GrpcChannel? _channel;

    private Connector.ConnectorClient Client => new(_channel);

    public async Task InitializeAsync()
    {
        _app = Process.Start(new ProcessStartInfo("dotnet", [SampleApp, "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(SampleApp),
        })!;
        _ = _app.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CallTimeout);
        while (await _app.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (ListeningOn().Match(line) is { Success: true } listening)
            {
                _channel = GrpcChannel.ForAddress(listening.Groups[1].Value);
                _ = _app.StandardOutput.ReadToEndAsync();
                return;
            }
        }

        throw new InvalidOperationException($"The sample app exited ({_app.ExitCode}) before it listened.");
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_app is not null)
        {
            _app.Kill(entireProcessTree: true);
            await _app.WaitForExitAsync();
            _app.Dispose();
        }
    }

    [Fact]
    public async Task Announces_its_functions_and_no_scripts()
    {
        var capabilities = await Client.GetCapabilitiesAsync(new Empty());

        Assert.Equal("SsePlugin.Sample", capabilities.PluginIdentifier);
        Assert.False(capabilities.AllowScript);
        Assert.Equal(
            [(0, "Celsius", FunctionType.Scalar), (1, "Swing", FunctionType.Aggregation)],
            capabilities.Functions.Select(f => (f.FunctionId, f.Name, f.FunctionType)));
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
            "args[0] * 2", FunctionType.Scalar, DataType.Numeric, [("x", DataType.Numeric)], Bundle([Numeric(1)])));

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

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
