using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Rserve;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// Rserve going away and coming back, the init script failing, Rserve run by the host, R functions files.
/// </summary>
public sealed class RserveLifecycleTests : IDisposable
{
    private static readonly (string, SseDataType)[] OneNumber = [("x", SseDataType.Numeric)];

    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-r-").FullName;

    [Fact]
    public async Task When_Rserve_is_down_calls_fail_fast_and_the_host_reconnects_once_it_is_back()
    {
        var port = RserveProcess.FreeLoopbackPort();
        var rserve = await RserveProcess.StartAsync(new RserveProcessOptions { Port = port });
        // A 60 s limit per call: a call that waited for Rserve would fail only then.
        await using var host = await RHostFixture.StartHostAsync(port, "--SsePlugin:Rserve:TimeoutSeconds", "60");
        var before = await Double(host, 1);

        await rserve.DisposeAsync();
        var clock = Stopwatch.StartNew();
        var down = await FailsAsync(() => Double(host, 2));
        var failedAfter = clock.Elapsed;
        await using var restarted = await RserveProcess.StartAsync(new RserveProcessOptions { Port = port });
        var after = await Double(host, 3);

        Assert.Equal(2, before);
        Assert.Equal(StatusCode.Unavailable, down.StatusCode);
        Assert.Contains($"Rserve at 127.0.0.1:{port}", down.Status.Detail);
        // At once, on a quiet machine in milliseconds: well before the call's limit, however loaded the machine.
        Assert.True(failedAfter < TimeSpan.FromSeconds(20), $"failing took {failedAfter}");
        Assert.Equal(6, after);
    }

    [Fact]
    public async Task The_host_logs_in_to_an_Rserve_that_requires_it()
    {
        var passwords = Path.Combine(_folder, "passwords");
        await File.WriteAllTextAsync(passwords, "qlik s3cret\n");
        await using var rserve = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort(), PasswordFile = passwords });
        await using var host = await RHostFixture.StartHostAsync(
            rserve.Port, "--SsePlugin:Rserve:User", "qlik", "--SsePlugin:Rserve:Password", "s3cret");
        await using var wrong = await RHostFixture.StartHostAsync(
            rserve.Port, "--SsePlugin:Rserve:User", "qlik", "--SsePlugin:Rserve:Password", "guess");

        var answer = await Double(host, 4);
        var refused = await FailsAsync(() => Double(wrong, 4));

        Assert.Equal(8, answer);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("login", refused.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_R_script_sees_none_of_the_variables_the_host_was_started_with()
    {
        Environment.SetEnvironmentVariable("SSEPLUGIN_TEST_SECRET", "a password");
        try
        {
            await using var rserve = await RserveProcess.StartAsync(
                new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
            await using var host = await RHostFixture.StartHostAsync(rserve.Port);

            var answer = await host.Client.EvaluateAsync(
                "nchar(Sys.getenv('SSEPLUGIN_TEST_SECRET')) + 10 * (nchar(Sys.getenv('PATH')) > 0)",
                SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));

            Assert.Equal([10], answer.Numbers());
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSEPLUGIN_TEST_SECRET", null);
        }
    }

    [Theory]
    [InlineData("--rserve", "127.0.0.1:notaport", "write host:port")]
    [InlineData("--SsePlugin:Rserve:TimeoutSeconds", "0", "more than 0")]
    [InlineData("--SsePlugin:Rserve:MemoryLimitMegabytes", "100", "at least 256")]
    [InlineData("--SsePlugin:Rserve:ProcessLimit", "-1", "ProcessLimit must be 0 (no limit) or at least 16")]
    public async Task Wrong_R_settings_stop_the_host_at_start(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => TestHost.StartAsync("--script-engine", "r", key, value));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task A_failing_init_script_is_reported_to_the_caller()
    {
        await using var rserve = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
        await using var host = await RHostFixture.StartHostAsync(
            rserve.Port, "--SsePlugin:Rserve:InitScript", "library(packageThatIsNotThere)");

        var error = await FailsAsync(() => Double(host, 1));

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("init script", error.Status.Detail);
        Assert.Contains("packageThatIsNotThere", error.Status.Detail);
    }

    [Fact]
    public async Task An_init_script_may_source_a_file()
    {
        var helpers = Path.Combine(_folder, "helpers.R");
        await File.WriteAllTextAsync(helpers, "plus1 <- function(x) {\r\n  x + 1\r\n}\r\n");
        await using var rserve = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
        await using var host = await RHostFixture.StartHostAsync(
            rserve.Port, "--SsePlugin:Rserve:InitScript", $"source('{helpers.Replace('\\', '/')}')");

        var answer = await host.Client.EvaluateAsync(
            "plus1(q$x)", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1)]));

        Assert.Equal([2], answer.Numbers());
    }

    [Fact]
    public async Task With_start_rserve_the_host_runs_Rserve_restarts_it_when_it_dies_leaving_nothing_and_stops_it()
    {
        var port = RserveProcess.FreeLoopbackPort();
        var host = await TestHost.StartAsync("--script-engine", "r", "--rserve", $"127.0.0.1:{port}", "--start-rserve");
        int first, second;
        try
        {
            var answer = await Double(host, 21);
            (first, var folder) = await EventuallyAsync(() => ServerAsync(host.Client));
            Process.GetProcessById(first).Kill();

            // A spare R process of the dead Rserve may still answer a call: its folder is the old one.
            second = await EventuallyAsync(async () => await ServerAsync(host.Client) is var (pid, f) && f != folder
                ? pid
                : throw new IOException("not restarted yet"));
            Assert.Equal(42, answer);

            // Rserve runs in a session of its own (setsid): its watchdog, forked from it, is the one left in it.
            Assert.True(
                await ProcessChecks.WithinHalfAMinuteAsync(() => SessionMembers(first).Count == 0),
                $"Processes of the dead Rserve's session are left: {string.Join(", ", SessionMembers(first))}");
        }
        finally
        {
            await host.DisposeAsync();
        }

        Assert.True(await ProcessChecks.EndsAsync(second), "Rserve still runs after the host stopped");
    }

    [Fact]
    public async Task The_R_plugins_functions_file_runs_unchanged_next_to_a_JavaScript_connection()
    {
        const string funcDefs = """
            { "Functions": [
                { "Id": 0, "Name": "ConcatStringsTensor", "FunctionType": 2, "ReturnType": 0,
                  "CacheResultInQlik": "true", "FunctionRScript": "paste(q$str1,q$str2);",
                  "Params": { "str1": 0, "str2": 0 } },
                { "Id": 1, "Name": "SumOfColumn", "FunctionType": 1, "ReturnType": 1, "CacheResultInQlik": "false",
                  "FunctionRScript": "sum(q$col1)", "Params": { "col1": 1 } } ] }
            """;
        var file = Path.Combine(_folder, "FuncDefs.json");
        await File.WriteAllTextAsync(file, funcDefs);
        await using var rserve = await RserveProcess.StartAsync(
            new RserveProcessOptions { Port = RserveProcess.FreeLoopbackPort() });
        await using var host = await TestHost.StartAsync(
            "--rserve", $"127.0.0.1:{rserve.Port}",
            "--SsePlugin:Connections:R:Port", "0",
            "--SsePlugin:Connections:R:ScriptEngine", "r",
            "--SsePlugin:Connections:R:FunctionsFile", file);
        var clients = host.Addresses.Select(a => host.Connect(null, a)).ToList();
        var capabilities = await Task.WhenAll(clients.Select(c => c.GetCapabilitiesAsync()));
        var (javaScript, rConnection) = capabilities[0].Functions.Any(
            f => f.Name == "ConcatStringsTensor") ? (clients[1], clients[0]) : (clients[0], clients[1]);

        var concat = await rConnection.ExecuteAsync(0, Bundle([Text("a", "b"), Text("c", "d")]));
        var sum = await rConnection.ExecuteAsync(1, Bundle([Numeric(1), Numeric(2)]));
        var rScript = await rConnection.EvaluateAsync(
            "q$x * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(4)]));
        var jsScript = await javaScript.EvaluateAsync(
            "args[0] * 3", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(4)]));

        Assert.Equal(["a b", "c d"], concat.Strings());
        Assert.Equal([3], sum.Numbers());
        Assert.True(sum.NoStore);
        Assert.Equal([8], rScript.Numbers());
        Assert.Equal([12], jsScript.Numbers());
    }

    [Fact]
    public async Task Rserve_started_by_a_host_that_is_killed_ends_too_and_its_socket_goes()
    {
        var port = RserveProcess.FreeLoopbackPort();
        int server;
        string folder;
        Stopwatch clock;
        await using (
            var host = await ChildHost.StartAsync(
                "--script-engine", "r", "--rserve", $"127.0.0.1:{port}", "--start-rserve"))
        {
            var answer = await host.Client.EvaluateAsync(
                "q$x * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(21)]));
            (server, folder) = await ServerAsync(host.Client);
            Assert.Equal([42], answer.Numbers());

            // SIGKILL: the host cannot stop Rserve itself.
            clock = Stopwatch.StartNew();
            Process.GetProcessById(host.ProcessId).Kill(entireProcessTree: false);
        }

        try
        {
            Assert.True(await ProcessChecks.EndsAsync(server), "Rserve still runs after the host was killed");
            // Its watchdog reacts to the host's pipe closing, at once (well within a second on a quiet machine); the
            // margin is for a loaded one.
            Assert.True(
                clock.Elapsed < TimeSpan.FromSeconds(10),
                $"Rserve ended {clock.Elapsed.TotalSeconds:0.0} s after the host was killed");
            Assert.True(
                await ProcessChecks.WithinHalfAMinuteAsync(() => !Directory.Exists(folder)),
                $"Rserve's folder {folder}, with its socket, is left.");
        }
        finally
        {
            if (!await ProcessChecks.EndsAsync(server))
            {
                Process.GetProcessById(server).Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Output_of_R_without_line_breaks_does_not_fill_the_hosts_memory()
    {
        var port = RserveProcess.FreeLoopbackPort();
        await using var host = await ChildHost.StartAsync(
            "--script-engine", "r", "--rserve", $"127.0.0.1:{port}", "--start-rserve");

        // 500 MB on R's standard output (which Rserve and every R process share with the host), no line break.
        var written = await host.Client.EvaluateAsync(
            "for (i in 1:50) cat(strrep('x', 1e7)); 1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));
        var after = await host.Client.EvaluateAsync(
            "q$x * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(21)]));
        var peak = PeakMegabytes(host.ProcessId);

        Assert.Equal([1], written.Numbers());
        Assert.Equal([42], after.Numbers());
        Assert.True(peak < 400, $"The host's peak resident memory was {peak} MB.");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // The peak resident memory of a process (VmHWM in /proc/PID/status), in MB.
    private static long PeakMegabytes(int processId) =>
        long.Parse(
            File.ReadLines($"/proc/{processId}/status")
                .Single(line => line.StartsWith("VmHWM:", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            CultureInfo.InvariantCulture) / 1024;

    private static async Task<double> Double(TestHost host, double x)
    {
        var answer = await host.Client.EvaluateAsync(
            "q$x * 2", SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(x)]));
        return answer.EnsureSucceeded().Numbers()[0];
    }

    // Rserve forks an R process per connection: its parent (field 4 of /proc/PID/stat) is the Rserve server, whose
    // folder is its TMPDIR (the host alone can connect to it, by the socket there).
    private static async Task<(int Process, string Folder)> ServerAsync(SseClient client)
    {
        var answer = (await client.EvaluateAsync(
            "paste(strsplit(sub('^.*[)] ', '', readLines('/proc/self/stat')), ' ')[[1]][2], Sys.getenv('TMPDIR'))",
            SseFunctionType.Scalar, SseDataType.String, [],
            Bundle([[]]))).EnsureSucceeded().Strings()[0]!.Split(' ', 2);
        return (int.Parse(answer[0], CultureInfo.InvariantCulture), answer[1]);
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (e is RpcException or IOException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    // The live processes of a session (field 6 of /proc/PID/stat), zombies aside.
    private static List<int> SessionMembers(int session)
    {
        var members = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(entry, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && fields[3] == session.ToString(CultureInfo.InvariantCulture))
                {
                    members.Add(int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not a process, or one that has ended.
            }
        }

        return members;
    }
}
