using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host;
using SsePlugin.R;
using SsePlugin.Server.Catalog;
using SsePlugin.Server.Hosting;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// How the host starts and stops: functions from a folder, refusals to start on bad declarations or settings, a
/// graceful stop.
/// </summary>
public sealed class HostStartupTests
{
    public static class BadFunctions
    {
        [SseFunction(5, SseFunctionType.Tensor)]
        public static double ClashesWithSumOfRows(double value) => value;

        [SseFunction(900, SseFunctionType.Aggregation, Name = "bad name")]
        public static double BadName(double value) => value;
    }

    [Fact]
    public async Task Functions_dropped_into_the_functions_folder_are_served()
    {
        await using var host = await TestHost.StartAsync(
            "--functions-folder", Path.Combine(AppContext.BaseDirectory, "plugins"));

        var capabilities = await host.Client.GetCapabilitiesAsync();
        var answer = await host.Client.ExecuteAsync(500, Bundle([Numeric(2), Numeric(-1)]));
        var ofInternalClass = await host.Client.ExecuteAsync(503, Bundle([Numeric(2)]));

        Assert.Contains(capabilities.Functions, f => f is { Name: "Triple", Id: 500 });
        Assert.Equal([6, -3], answer.Numbers());
        Assert.Equal([-2], ofInternalClass.Numbers());
    }

    [Fact]
    public async Task A_functions_folder_that_adds_nothing_is_named_in_a_warning()
    {
        var empty = Directory.CreateTempSubdirectory("sseplugin-empty-").FullName;
        var log = new LogCapture();
        try
        {
            await using var host = await TestHost.StartAsync(["--functions-folder", empty], log.AddTo);

            await log.WaitForAsync("The functions folder", empty, "holds no assemblies");
            Assert.NotEmpty((await host.Client.GetCapabilitiesAsync()).Functions);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Theory]
    [InlineData]
    [InlineData("--SsePlugin:Connections:Second:Port", "0")]
    public void Bad_declarations_are_all_reported_once_before_the_port_opens(params string[] connections)
    {
        var error = Assert.Throws<SseConfigurationException>(() => SsePluginHost.Build(
            ["--port", "0", .. connections], sse => sse.AddFunctions(typeof(BadFunctions))));

        Assert.Equal(
            [DiagnosticCodes.DuplicateId, DiagnosticCodes.InvalidName, DiagnosticCodes.WrongFunctionType],
            error.Diagnostics.Select(d => d.Code).Order());
        Assert.Matches(
            @"SSE1001 ColumnOperations\.SumOfRows \(ColumnOperations\.cs:\d+\): .* used by ColumnOperations\.SumOfRows "
                + @"\(ColumnOperations\.cs:\d+\) and BadFunctions\.ClashesWithSumOfRows \(HostStartupTests\.cs:\d+\)\.",
            error.Message);
    }

    [Theory]
    [InlineData("--prot: no such option. The options are --port, --bind,", "--prot", "50052")]
    [InlineData(
        "'-p' is neither a command (certs, doctor, call) nor an option; write options as --name value (see --help).",
        "-p",
        "50052")]
    [InlineData("--certs needs a value.", "--certs")]
    [InlineData("--certs needs a value; --port is an option.", "--certs", "--port", "50052")]
    [InlineData("--SsePlugin:MaxConcurrentCalls needs a value.", "--SsePlugin:MaxConcurrentCalls")]
    [InlineData("SsePlugin:Prot is not a setting. Fix: correct or remove it;", "--SsePlugin:Prot", "50052")]
    [InlineData("SsePlugin:JavaScript:Timeout is not a setting. Fix:", "--SsePlugin:JavaScript:Timeout", "5")]
    [InlineData("SsePlugin:Rserve:Adress is not a setting. Fix:", "--SsePlugin:Rserve:Adress", "h:1")]
    [InlineData(
        "SsePlugin:Connections:R:FunctionsFolder is not a setting. Fix:",
        "--SsePlugin:Connections:R:FunctionsFolder",
        "x")]
    [InlineData(
        "SsePlugin:Connections:0: a connection's name starts with a letter", "--SsePlugin:Connections:0:Port", "50060")]
    [InlineData(
        "SsePlugin:Connections:R has no Port; each connection needs a port of its own.",
        "--SsePlugin:Connections:R:ScriptEngine",
        "r")]
    [InlineData(
        "SsePlugin:Rserve holds a value where a section of settings belongs", "--SsePlugin:Rserve", "127.0.0.1:6311")]
    [InlineData(
        "Kestrel:Endpoints is not used: each analytic connection listens on a port of its own",
        "--Kestrel:Endpoints:Extra:Url",
        "http://127.0.0.1:0")]
    public void A_setting_the_host_does_not_know_is_named_instead_of_ignored(string message, params string[] args)
    {
        var error = Assert.Throws<OptionsValidationException>(
            () => SsePluginHost.Build(["--port", "0", "--shutdownTimeoutSeconds", "1", .. args]));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task A_null_in_appsettings_for_a_setting_that_needs_a_value_stops_the_executable()
    {
        // An environment's appsettings file, as an administrator would add one; null is fine where a setting may be
        // absent.
        var environment = $"Nulls{Guid.NewGuid():N}";
        var file = Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json");
        await File.WriteAllTextAsync(
            file, """{ "SsePlugin": { "Certs": null, "AllowScript": null, "Rserve": { "Address": null } } }""");
        try
        {
            var (exitCode, printed) = await HostProcess.RunToExitAsync("--port", "0", "--environment", environment);

            Assert.Equal(2, exitCode);
            Assert.Contains(
                "SsePlugin:AllowScript is null; give it a value, or leave it out for its default. "
                    + "SsePlugin:Rserve:Address is null;",
                printed);
            Assert.DoesNotContain("Certs", printed);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Switches_in_any_case_and_settings_reach_the_configuration_and_a_repeated_switch_counts_its_last_value()
    {
        // A setting's value that names a command is the setting's value.
        using var app = SsePluginHost.Build(
            ["--Port", "0", "--Start-Rserve", "--SsePlugin:MaxConcurrentCalls=8", "--SsePlugin:Alias", "@DotNet",
                "--EXAMPLES", "true", "--examples", "false", "--ShutdownTimeoutSeconds", "5",
                "--SsePlugin:PluginIdentifier", "doctor"]);

        var options = app.Services.GetRequiredService<IOptions<SsePluginOptions>>().Value;
        Assert.Equal(
            (0, 8, "@DotNet", "doctor"),
            (options.Port, options.MaxConcurrentCalls, options.Alias, options.PluginIdentifier));
        Assert.True(app.Services.GetRequiredService<IOptions<ROptions>>().Value.Start);
        // The stop waits the drain delay (default 5 s), then the switch's 5 s for running calls.
        Assert.Equal(
            TimeSpan.FromSeconds(5 + 5),
            app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        var functions = app.Services.GetRequiredService<ConnectionRegistry>().All[0].Catalog.Functions;
        Assert.DoesNotContain(functions, f => f.Id == 5);
    }

    [Fact]
    public async Task Help_and_version_are_printed_without_starting_the_host()
    {
        var help = await HostProcess.RunToExitAsync("--help");
        var certsHelp = await HostProcess.RunToExitAsync("certs", "generate", "-h");
        var doctorHelp = await HostProcess.RunToExitAsync("doctor", "-?");
        var version = await HostProcess.RunToExitAsync("--version");
        var helpWord = await HostProcess.RunToExitAsync("help");

        Assert.Equal(
            (0, 0, 0, 0, 0),
            (help.ExitCode, certsHelp.ExitCode, doctorHelp.ExitCode, version.ExitCode, helpWord.ExitCode));
        Assert.Equal(help.Output, helpWord.Output);
        Assert.Contains($"Usage:{Environment.NewLine}  SsePlugin.Host [command] [options]", help.Output);
        Assert.All(
            ["--port <N>", "--bind <ADDRESS>", "--certs <DIR>", "--functions-folder <DIR>", "--functions <FILE>",
                "--allow-script <true|false>", "--script-engine <javascript|r|python>", "--examples <true|false>",
                "--rserve <HOST:PORT>", "--start-rserve ", "--shutdownTimeoutSeconds <N>", "--environment <NAME>",
                "--Section:Key value", "--help", "--version", "certs ", "doctor "],
            option => Assert.Contains(option, help.Output));
        Assert.All(
            ["SsePlugin.Host certs generate [options]", "--out <DIR> (REQUIRED)", "--host <NAME>", "--days <N>",
                "--force"],
            option => Assert.Contains(option, certsHelp.Output));
        Assert.All(
            ["SsePlugin.Host doctor [options]", "--host <HOST> (REQUIRED)", "--port <PORT>", "--certs <DIR>",
                "--alias <NAME>"],
            option => Assert.Contains(option, doctorHelp.Output));
        Assert.Equal(SsePluginHost.Version, version.Printed.Trim());
    }

    [Theory]
    [InlineData("--prot: no such option. The options are --port, --bind,", "--prot", "50052")]
    [InlineData("--port takes a whole number, not abc.", "--port", "abc")]
    [InlineData("--allow-script takes true or false, not yes.", "--allow-script", "yes")]
    [InlineData("--functions needs a value.", "--port", "0", "--functions")]
    [InlineData("--port needs a value.", "--port", "0", "--port")]
    [InlineData("--certs needs a value.", "--certs", "/a", "--certs")]
    [InlineData("--prot: no such option.", "--prot", "5", "--version")]
    [InlineData("--start-rserve takes true or false, not yes.", "--start-rserve", "yes")]
    [InlineData("--port takes a whole number from 1 to 65535, not http.", "doctor", "--host", "h", "--port", "http")]
    [InlineData("--port needs a value.", "doctor", "--host", "h", "--port")]
    [InlineData("--hots: no such option of doctor; the options are --host, --port, --certs, --alias.", "doctor",
        "--hots", "x")]
    [InlineData("doctor needs --host HOST.", "doctor", "--port", "1")]
    [InlineData("--host takes a value, not an empty text.", "doctor", "--host", "")]
    [InlineData("--certs takes a value, not an empty text.", "doctor", "--host", "h", "--certs", "")]
    [InlineData("--alias takes a value, not an empty text.", "doctor", "--host", "h", "--alias", "")]
    [InlineData("--days takes a whole number from 1 to 36500, not 0.", "certs", "generate", "--out", "x",
        "--days", "0")]
    [InlineData("--outt: no such option of certs generate; the options are --out, --host, --days, --force.",
        "certs", "generate", "--outt", "/tmp/x")]
    [InlineData("gen: no such command of certs; the command is certs generate.", "certs", "gen", "--out", "x")]
    [InlineData("certs needs its command: certs generate.", "certs")]
    [InlineData("certs generate needs --out DIR.", "certs", "generate")]
    [InlineData("--out takes a value, not an empty text.", "certs", "generate", "--out", "")]
    public async Task A_wrong_command_line_prints_the_mistake_in_one_line_then_the_help_and_exits_2(
        string message, params string[] args)
    {
        var run = await HostProcess.RunToExitAsync(args);

        // One line on standard error, no blank one after it; the help on standard output.
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith(message, run.Errors);
        Assert.EndsWith(Environment.NewLine, run.Errors);
        Assert.Equal(1, run.Errors.Split(Environment.NewLine).Length - 1);
        Assert.Contains("Usage:", run.Output);
        Assert.DoesNotContain("Did you mean", run.Printed);
        Assert.DoesNotContain("Now listening", run.Printed);
    }

    [Fact]
    public async Task The_host_executable_refuses_to_start_with_a_clear_message_and_exit_code()
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", "0", "--functions-folder", "/no/such/folder");

        Assert.Equal(2, exitCode);
        Assert.Contains("SSE1010", printed);
        Assert.Contains("The functions folder does not exist", printed);
        Assert.DoesNotContain("Now listening", printed);
    }

    [Theory]
    [InlineData("Port 99999 is not a TCP port. Fix: Use a port from 1 to 65535", "--port", "99999")]
    [InlineData("Bind 'nonsense' is not an IP address.", "--bind", "nonsense")]
    [InlineData("--port takes a whole number, not abc.", "--port", "abc")]
    [InlineData(
        "Failed to convert configuration value 'yes' at 'SsePlugin:Connections:R:AllowScript'",
        "--SsePlugin:Connections:R:Port",
        "50061",
        "--SsePlugin:Connections:R:AllowScript",
        "yes")]
    [InlineData("SsePlugin:MaxConcurrentCalls must be 0 (no limit) or more.", "--SsePlugin:MaxConcurrentCalls", "-1")]
    [InlineData(
        "SsePlugin:JavaScript:TimeoutSeconds must be more than 0 and at most 4294967 (49 days).",
        "--SsePlugin:JavaScript:TimeoutSeconds",
        "0")]
    [InlineData("--shutdownTimeoutSeconds takes a whole number, not 1.5.", "--shutdownTimeoutSeconds", "1.5")]
    [InlineData(
        "shutdownTimeoutSeconds must be a whole number of seconds, 0 or more.", "--shutdownTimeoutSeconds", "-1")]
    [InlineData(
        "Failed to convert configuration value 'x' at 'SsePlugin:Rserve:PoolSize'", "--SsePlugin:Rserve:PoolSize", "x")]
    [InlineData(
        "The Serilog settings are wrong: The value Verbos is not a valid Serilog level.",
        "--Serilog:MinimumLevel:Default",
        "Verbos")]
    [InlineData("--prot: no such option.", "--prot", "50052")]
    [InlineData(
        "Cannot start '/no/such/Rscript'",
        "--script-engine",
        "r",
        "--start-rserve",
        "--rserve",
        "127.0.0.1:1",
        "--SsePlugin:Rserve:RscriptPath",
        "/no/such/Rscript")]
    public async Task A_setting_out_of_range_or_of_the_wrong_type_stops_the_executable_with_one_clear_line(
        string message, params string[] args)
    {
        var (exitCode, printed) = await HostProcess.RunToExitAsync(["--port", "0", .. args]);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, printed);
        Assert.DoesNotContain("   at ", printed);
        Assert.DoesNotContain("Now listening", printed);
    }

    [Fact]
    public async Task The_banner_names_the_port_the_host_listens_on_and_every_function_s_call_syntax()
    {
        await using var host = await ChildHost.StartAsync();

        var port = new Uri(host.Address).Port;
        await host.WaitForLineAsync(
            $"Connection main on 127.0.0.1:{port} (plaintext): scripts in javascript, 12 functions; Qlik calls them as "
                + "follows (<Alias> is the analytic connection's name in QMC)");
        await host.WaitForLineAsync("    5 Tensor      <Alias>.SumOfRows(col1, col2) -> Numeric");
    }

    [Fact]
    public async Task Sigterm_lets_a_running_call_finish_refuses_new_ones_and_exits_0()
    {
        // Without a drain delay the host stops taking calls at once (LifecycleTests drain first).
        await using var host = await ChildHost.StartAsync("--SsePlugin:DrainDelaySeconds", "0");
        using var timeout = new CancellationTokenSource(CallTimeout);
        using var call = host.Client.Connector.ExecuteFunction(Headers(5, cardinality: 2),
            cancellationToken: timeout.Token);
        await call.RequestStream.WriteAsync(Bundle([Numeric(1, 2)]).Message);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var first = call.ResponseStream.Current;

        var exit = host.TerminateAsync();
        var refused = await RefusedWhileStoppingAsync(host.Address, timeout.Token);
        var stillRunning = !exit.IsCompleted;
        await call.RequestStream.WriteAsync(Bundle([Numeric(3, 4)]).Message);
        await call.RequestStream.CompleteAsync();
        var rest = await QlikCalls.ReadAllAsync(call, timeout.Token);

        Assert.True(stillRunning);
        Assert.True(IsRefusal(refused), refused.Status.ToString());
        Assert.Equal(3, first.Rows.Single().Duals[0].NumData);
        Assert.Equal([7], rest.Numbers());
        Assert.Equal(0, await exit);
    }

    // A stopping host refuses a new call by its closed port, or, on a connection it had just accepted, by an HTTP/2
    // GOAWAY (NO_ERROR) that leaves the call's stream unprocessed. gRPC C-core, which Qlik's engine uses, takes that as
    // Unavailable; the .NET client reports it as Internal.
    private static bool IsRefusal(RpcException e) => e.StatusCode == StatusCode.Unavailable
        || e is
        {
            StatusCode: StatusCode.Internal,
            Status.DebugException.InnerException: HttpProtocolException { ErrorCode: 0 },
        };

    // New calls are refused as soon as the host has taken the signal in; until then they may still be answered.
    private static async Task<RpcException> RefusedWhileStoppingAsync(
        string address, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var newcomer = new SseClient(new Uri(address));
            try
            {
                (await newcomer.ExecuteAsync(5, Bundle([Numeric(1, 1)]))).EnsureSucceeded();
            }
            catch (RpcException refused)
            {
                return refused;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    [Fact]
    public async Task A_port_in_use_stops_the_executable_with_a_clear_message()
    {
        await using var host = await TestHost.StartAsync();

        var (exitCode, printed) = await HostProcess.RunToExitAsync(
            "--port", host.Address.Port.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(2, exitCode);
        Assert.Contains(
            $"Failed to bind to address http://127.0.0.1:{host.Address.Port}: address already in use. "
                + "Another program, perhaps another SsePlugin, listens there",
            printed);
        Assert.DoesNotContain("   at ", printed);
        await host.Client.AssertServesAsync();
    }
}
