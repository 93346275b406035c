using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using SsePlugin.Host.Commands;
using Xunit;

namespace SsePlugin.InteropTests;

/// <summary>
/// python_plugin.py, an SSE plugin that is not SsePlugin (Python's grpcio, gRPC C-core), on a loopback port, with
/// stubs that protoc makes from the repository's proto. Missing prerequisites fail the tests; they never skip.
/// </summary>
public sealed partial class PythonPluginFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _stubs = Directory.CreateTempSubdirectory("sse-python-plugin-").FullName;
    private ChildProcess? _plugin;

    /// <summary>Gets the plugin's port.</summary>
    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        await using (var protoc = await ChildProcess.RunAsync(
            "protoc",
            [
                $"--python_out={_stubs}", "-I", Path.Combine(AppContext.BaseDirectory, "proto"),
                "ServerSideExtension.proto",
            ],
            StartTimeout))
        {
            Assert.True(protoc.ExitCode == 0, $"protoc failed: {protoc.Errors}");
        }

        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _plugin = ChildProcess.Start(
            "/usr/bin/python3",
            [Path.Combine(AppContext.BaseDirectory, "python_plugin.py"), Port.ToString(CultureInfo.InvariantCulture),
                _stubs]);
        try
        {
            await _plugin.WaitForLineAsync(Listening(), StartTimeout);
        }
        catch (InvalidOperationException e)
        {
            Assert.Fail($"python_plugin.py did not start (it needs python3-grpcio and python3-protobuf): {e.Message}");
        }
    }

    public async Task DisposeAsync()
    {
        if (_plugin is not null)
        {
            await _plugin.DisposeAsync();
        }

        Directory.Delete(_stubs, recursive: true);
    }

    /// <summary>Gets what the plugin wrote to its standard error if it has exited, for a failure's message.</summary>
    public string ExitedWith() => _plugin is { HasExited: true }
        ? $"python_plugin.py exited with code {_plugin.ExitCode}: {_plugin.Errors}"
        : string.Empty;

    [GeneratedRegex("^listening$")]
    private static partial Regex Listening();
}

/// <summary><c>call</c> against a plugin that is not SsePlugin: the Python plugin, over a real socket.</summary>
public sealed class CallInteropTests(PythonPluginFixture python) : IClassFixture<PythonPluginFixture>
{
    [Fact]
    public async Task The_answer_is_a_table_under_the_plugin_s_field_names_with_its_cache_header()
    {
        var (exitCode, output, errors) = await CallAsync("Repeat", "ab", "3");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.StartsWith(
            string.Join(Environment.NewLine, "Repeated", "--------", "ababab", "(1 rows)", "qlik-cache: no-store"),
            output);
        Assert.Contains("table description: Repeated, -1 rows announced, fields Repeated (String)", output);
    }

    [Fact]
    public async Task Json_and_duals_reach_a_plugin_that_is_not_ours()
    {
        var (exitCode, output, errors) = await CallAsync("--json", "Tenfold", "4.5|four and a half");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("OK", root.GetProperty("status").GetString());
        Assert.Equal(45, root.GetProperty("rows")[0][0].GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tableDescription").ValueKind);
    }

    [Fact]
    public async Task The_plugin_s_status_and_message_are_one_line_and_a_load_test_counts_them()
    {
        var (exitCode, _, errors) = await CallAsync("Refuse", "1");
        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Equal(
            "error: Refuse failed with InvalidArgument: Refuse refuses every value. Fix: that message is the "
                + "plugin's; its log tells more.",
            errors.TrimEnd());

        (exitCode, var output, _) = await CallAsync("--repeat", "4", "--parallel", "2", "--rows", "10", "Refuse", "1");
        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains("calls: 4, 0 succeeded, 4 failed: InvalidArgument 4", output);

        (exitCode, _, errors) = await CallAsync("Rpeat", "a", "1");
        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains("The plugin 'python-plugin' offers no function 'Rpeat'; close names: Repeat.", errors);
    }

    private async Task<(int ExitCode, string Output, string Errors)> CallAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exitCode = await new HostCommandLine().InvokeAsync(
            ["call", "--host", "127.0.0.1", "--port", $"{python.Port}", .. args], output, errors);
        return (exitCode, output.ToString(), errors.ToString() + python.ExitedWith());
    }
}
