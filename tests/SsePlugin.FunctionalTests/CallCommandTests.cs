using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host;
using SsePlugin.Host.Commands;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests;

/// <summary>
/// <c>call</c> against SsePlugin over real sockets: a plaintext host of this class and the shared mutual-TLS host.
/// </summary>
[Collection(TlsHost.Name)]
public sealed class CallCommandTests(TlsHostFixture tls, HostFixture plaintext)
    : IClassFixture<HostFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sse-call-").FullName;

    private string Port => $"{plaintext.Host.Address.Port}";

    [Fact]
    public async Task A_row_of_arguments_answers_a_table_with_the_cache_header_and_the_table_description()
    {
        var (exitCode, output, errors) = await CallAsync("--port", Port, "SumOfRows", "1", "2.5");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        var lines = output.Split(Environment.NewLine);
        Assert.Equal(["SumOfRows", "---------", "      3.5", "(1 rows)"], lines[..4]);
        Assert.Contains("qlik-cache: (none: Qlik may cache the answer)", output);
        Assert.Contains("table description: (none)", output);
    }

    [Fact]
    public async Task A_dual_is_written_number_bar_text()
    {
        var (exitCode, output, errors) = await CallAsync("--port", Port, "Describe", "4|four");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.Contains($"{Environment.NewLine}8|<four>{Environment.NewLine}", output);
    }

    [Fact]
    public async Task Csv_columns_go_to_the_parameters_by_name_or_else_by_position()
    {
        var byName = Csv("by-name.csv", "note,col2,COL1\nfirst,1,10\r\nsecond,2,\"20\"\n");
        var byPosition = Csv("by-position.csv", "a,b\n1,2\n");
        var duals = Csv("duals.csv", "value\n\"3|x, \"\"y\"\"\"\n");
        var (_, output, errors) = await CallAsync("--port", Port, "--json", "--csv", byName, "SumOfRows");
        Assert.True(Numbers(output) is [11, 22], output + errors);
        (_, output, errors) = await CallAsync("--port", Port, "--json", "--csv", byPosition, "SumOfRows");
        Assert.True(Numbers(output) is [3], output + errors);
        (_, output, errors) = await CallAsync("--port", Port, "--csv", duals, "Describe");
        Assert.True(output.Contains("6|<x, \"y\">", StringComparison.Ordinal), output + errors);
    }

    [Fact]
    public async Task A_csv_mistake_is_one_line_naming_the_file_the_line_and_the_fix()
    {
        var ragged = Csv("ragged.csv", "col1,col2\n1,2\n\"3\n\",4\n5\n");
        var narrow = Csv("narrow.csv", "only\n1\n");
        var text = Csv("text.csv", "col1,col2\n1,x\n");
        var twice = Csv("twice.csv", "col1,col1\n1,2\n");
        var open = Csv("open.csv", "col1,col2\n1,2\n3,\"4\n");
        var (exitCode, _, errors) = await CallAsync("--port", Port, "--csv", ragged, "SumOfRows");
        AssertOneLine(errors, $"--csv {ragged} line 5: 1 values for 2 columns (col1, col2).");
        Assert.Equal(ExitCodes.Usage, exitCode);
        (_, _, errors) = await CallAsync("--port", Port, "--csv", narrow, "SumOfRows");
        AssertOneLine(errors, $"--csv {narrow}: 1 columns (only) for 2 parameters (col1, col2).");
        (_, _, errors) = await CallAsync("--port", Port, "--csv", text, "SumOfRows");
        AssertOneLine(errors, $"Bad argument ({text} line 2, column col2): 'x' is not a number");
        (exitCode, _, errors) = await CallAsync("--port", Port, "--csv", twice, "SumOfRows");
        AssertOneLine(errors, $"--csv {twice} line 1: Col name 'col1' found 2 times");
        Assert.Equal(ExitCodes.Usage, exitCode);
        (_, _, errors) = await CallAsync("--port", Port, "--csv", open, "SumOfRows");
        AssertOneLine(errors, $"--csv {open} line 3: a quote is opened and never closed.");
    }

    [Fact]
    public async Task Json_holds_the_status_the_fields_and_the_rows_as_their_types()
    {
        var (exitCode, output, errors) = await CallAsync("--port", Port, "--json", "Describe", "5|five");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("Describe", root.GetProperty("function").GetString());
        Assert.Equal("OK", root.GetProperty("status").GetString());
        Assert.Equal("Dual", root.GetProperty("fields")[0].GetProperty("type").GetString());
        var dual = root.GetProperty("rows")[0][0];
        Assert.Equal(10, dual.GetProperty("number").GetDouble());
        Assert.Equal("<five>", dual.GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_script_goes_with_the_script_header_of_its_script_function()
    {
        var (exitCode, output, errors) = await CallAsync("--port", Port, "--json", "--script", "args[0] * 2", "21");
        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.True(Numbers(output) is [42], output);

        (exitCode, output, errors) = await CallAsync(
            "--port", Port, "--json", "--script", "args[0] + args[1]", "--function", "ScriptEvalStr", "a", "b");
        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.Equal("ab", JsonDocument.Parse(output).RootElement.GetProperty("rows")[0][0].GetString());
    }

    [Fact]
    public async Task The_Ex_script_functions_send_each_argument_as_the_type_types_gives_it()
    {
        var (exitCode, output, errors) = await CallAsync(
            "--port", Port, "--json", "--script", "args[0] * args[1].num + args[2].length", "--function",
            "ScriptEvalEx", "--types", "NDS", "2", "3|three", "abcd");
        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.True(Numbers(output) is [10], output);

        var rows = Csv("duals.csv", "value,note\n1|one,x\n2|two,yy\n");
        (exitCode, output, errors) = await CallAsync(
            "--port", Port, "--json", "--csv", rows, "--script",
            "args[0].reduce((sum, d) => sum + d.num + d.str.length, 0) + args[1].join('').length",
            "--function", "ScriptAggrEx", "--types", "DS");
        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.True(Numbers(output) is [12], output);

        // The script's parameters are named after the CSV's columns, as Qlik names them after its fields.
        var table = Csv("table.csv", "sales,cost\n10,4\n20,5\n");
        (exitCode, output, errors) = await CallAsync(
            "--port", Port, "--json", "--csv", table, "--script", "q => q.sales.map((s, i) => s - q.cost[i] + i)");
        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.True(Numbers(output) is [6, 16], output);
    }

    [Fact]
    public async Task A_load_test_prints_its_summary_and_counts_failures_by_status()
    {
        var (exitCode, output, errors) = await CallAsync(
            "--port", Port, "--json", "--rows", "250", "--repeat", "6", "--parallel", "3", "SumOfRows", "1", "2");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.Equal(6, summary.GetProperty("calls").GetInt32());
        Assert.Equal(1500, summary.GetProperty("rowsSent").GetInt64());
        Assert.Empty(summary.GetProperty("failures").EnumerateObject());
        Assert.True(summary.GetProperty("p99Milliseconds").GetDouble() >= summary.GetProperty("p50Milliseconds")
            .GetDouble());

        (exitCode, output, _) = await CallAsync("--port", Port, "--repeat", "3", "RejectNegative", "-1");
        Assert.Equal(ExitCodes.Problem, exitCode);
        Assert.Contains("calls: 3, 0 succeeded, 3 failed: Unknown 3", output);
        Assert.Contains(" rows/s", output);
        Assert.Contains("latency: p50 ", output);
    }

    [Fact]
    public async Task A_load_test_shows_a_progress_bar_on_a_terminal_and_none_when_redirected()
    {
        string[] call =
            ["call", "--host", "127.0.0.1", "--port", Port, "--repeat", "40", "--parallel", "2", "SumOfRows", "1", "2"];
        var command = string.Join(' ', new[] { "dotnet", typeof(SsePluginHost).Assembly.Location }.Concat(call)
            .Select(word => $"'{word}'"));

        // script (util-linux) gives the command a terminal and writes what it shows.
        await using var terminal = await ChildProcess.RunAsync("script", ["-qefc", command, "/dev/null"], CallTimeout);
        var redirected = await HostProcess.RunToExitAsync(call);

        Assert.True(terminal.ExitCode == 0, terminal.Printed);
        Assert.Matches(@"\[#{40}\] 40/40 calls", terminal.Output);
        Assert.Contains("calls: 40, 40 succeeded, 0 failed", terminal.Output);
        Assert.True(redirected.ExitCode == 0, redirected.Printed);
        Assert.Contains("calls: 40, 40 succeeded, 0 failed", redirected.Output);
        Assert.DoesNotContain("40/40 calls", redirected.Output);
    }

    [Fact]
    public async Task Mutual_TLS_calls_with_Qlik_s_certificate_folder()
    {
        var (exitCode, output, errors) = await CallAsync(
            "--host", "localhost", "--port", $"{tls.Host.Address.Port}",
            "--certs", TestCertificates.Qlik(tls.Certificates.Trusted), "SumOfRows", "1", "2");

        Assert.True(exitCode == ExitCodes.Ok, errors);
        Assert.Contains($"{Environment.NewLine}        3{Environment.NewLine}", output);
    }

    [Theory]
    [InlineData(ExitCodes.Problem, "The plugin 'SsePlugin' offers no function 'SumOfRow'; close names: SumOfRows.",
        "SumOfRow", "1", "2")]
    [InlineData(ExitCodes.Usage, "Bad argument (argument 2): 'x' is not a number, and col2 is numeric.",
        "SumOfRows", "1", "x")]
    [InlineData(ExitCodes.Usage, "Bad argument (1 given): SumOfRows takes 2 arguments (col1 Numeric, col2 Numeric).",
        "SumOfRows", "1")]
    [InlineData(ExitCodes.Problem, "RejectNegative failed with Unknown: RejectNegative failed: "
        + "InvalidOperationException: negative values are not allowed", "RejectNegative", "-1")]
    [InlineData(ExitCodes.Problem, "ScriptEval is a script function: give the script with --script", "ScriptEval")]
    [InlineData(ExitCodes.Usage, "--function ScriptEvl: not a script function", "--script", "1", "--function",
        "ScriptEvl")]
    [InlineData(ExitCodes.Usage, "ScriptEvalEx needs each argument's type", "--script", "1", "--function",
        "ScriptEvalEx", "2")]
    [InlineData(ExitCodes.Usage, "--types NX: 'X' is not a type.", "--script", "1", "--function", "ScriptAggrEx",
        "--types", "NX", "1", "2")]
    [InlineData(ExitCodes.Usage, "--types N: 1 types for 2 arguments.", "--script", "1", "--function",
        "ScriptEvalEx", "--types", "N", "1", "2")]
    [InlineData(ExitCodes.Usage, "--types N: ScriptEval types its parameters itself.", "--script", "1", "--types",
        "N", "1")]
    public async Task A_mistake_is_one_line_with_its_cause_and_its_fix(int code, string cause, params string[] args)
    {
        var (exitCode, _, errors) = await CallAsync(["--port", Port, .. args]);

        AssertOneLine(errors, cause);
        Assert.Equal(code, exitCode);
    }

    [Fact]
    public async Task Connection_and_TLS_problems_are_one_line_with_their_fix()
    {
        int closed;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closed = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var tlsPort = $"{tls.Host.Address.Port}";
        var (exitCode, _, errors) = await CallAsync("--port", $"{closed}", "SumOfRows", "1", "2");
        AssertOneLine(errors, $"Cannot connect to 127.0.0.1:{closed}: nothing listens there (connection refused).");
        Assert.Equal(ExitCodes.Problem, exitCode);

        (exitCode, _, errors) = await CallAsync(
            "--host", "localhost", "--port", tlsPort, "--certs", TestCertificates.Qlik(tls.Certificates.Foreign),
            "SumOfRows", "1", "2");
        AssertOneLine(errors, $"TLS refused: localhost:{tlsPort} and the certificates in ");
        Assert.Equal(ExitCodes.Problem, exitCode);

        (exitCode, _, errors) = await CallAsync("--host", "localhost", "--port", tlsPort, "SumOfRows", "1", "2");
        AssertOneLine(errors, $"Cannot call localhost:{tlsPort} in plaintext: ");
        Assert.Equal(ExitCodes.Problem, exitCode);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static void AssertOneLine(string errors, string cause)
    {
        var line = Assert.Single(errors.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(cause, line);
        Assert.Contains(" Fix: ", line);
    }

    private static double[] Numbers(string json) =>
        [.. JsonDocument.Parse(json).RootElement.GetProperty("rows").EnumerateArray().Select(r => r[0].GetDouble())];

    private string Csv(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int ExitCode, string Output, string Errors)> CallAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        string[] host = args.Contains("--host") ? [] : ["--host", "127.0.0.1"];
        var exitCode = await new HostCommandLine().InvokeAsync(["call", .. host, .. args], output, errors);
        return (exitCode, output.ToString(), errors.ToString());
    }
}
