using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using SsePlugin.Client;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host.Security;
using SsePlugin.Rserve;
using SsePlugin.Server.Security;

using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// What an R script can do on the machine when the host runs Rserve itself (as root, as the tests do): each call in an
/// R process of its own, under a user id of its own, with memory and process limits. These tests need root (CI runs
/// them as root): without it they fail saying so.
/// </summary>
[Collection(ConfinedRHost.Name)]
public sealed class RConfinementTests(ConfinedRHostFixture r)
{
    private static readonly (string, SseDataType)[] OneNumber = [("x", SseDataType.Numeric)];

    [Fact]
    public async Task A_script_that_switches_the_reset_off_cannot_affect_later_calls() =>
        await SwitchingTheResetOffChangesNothingAsync(r.Client, sessions: 2);

    /// <summary>
    /// Runs a script that turns the per-call reset off and changes globals, the init script's function, environment
    /// variables, options and the search path, on more calls than the pool has sessions; then checks that later calls
    /// see none of it.
    /// </summary>
    internal static async Task SwitchingTheResetOffChangesNothingAsync(SseClient client, int sessions)
    {
        const string attack = """
            unlockBinding('reset', .sse); assign('reset', function() NULL, envir = .sse)
            unlockBinding('.sse', globalenv()); times10 <<- function(x) -1
            leak <<- 1; Sys.setenv(SSE_LEAK = 'x'); options(sse.leak = 1); library(splines); 1
            """;
        for (var i = 0; i < 2 * sessions; i++)
        {
            await client.EvaluateAsync(attack, SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 2 * sessions).Select(_ => client.EvaluateAsync(
            "exists('leak') + (Sys.getenv('SSE_LEAK') != '') + (!is.null(getOption('sse.leak'))) "
                + "+ ('package:splines' %in% search()) + times10(1)",
            SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]))));

        Assert.All(answers, a => Assert.Equal([10], a.Numbers()));
    }

    /// <summary>
    /// A call (the victim) waits while another (the attacker) tries to read, trace and kill every other R process
    /// forked by Rserve (the victim's, the spare sessions', the watchdog) and Rserve itself.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Calls_run_under_ids_of_their_own_and_cannot_read_trace_or_kill_each_other_or_Rserve()
    {
        RequireRoot();
        var meeting = Directory.CreateTempSubdirectory("sseplugin-r-meeting-");
        try
        {
            meeting.UnixFileMode = (UnixFileMode)0b111_111_111;
            var victimFile = Path.Combine(meeting.FullName, "victim");
            var done = Path.Combine(meeting.FullName, "done");
            var victim = ScalarAsync(
                r.Client,
                $"writeLines(as.character(Sys.getpid()), '{victimFile}.new'); file.rename('{victimFile}.new', "
                + $"'{victimFile}'); for (i in 1:400) if (file.exists('{done}')) break else Sys.sleep(0.05); 42");
            Assert.True(
                await ProcessChecks.WithinHalfAMinuteAsync(() => File.Exists(victimFile)), "The victim never ran.");
            var victimId = int.Parse(File.ReadAllText(victimFile).Trim(), CultureInfo.InvariantCulture);
            var rserve = ParentOf(victimId);
            var rserveUser = UserOf(rserve);
            List<int> rProcesses = [];

            // The victim's R process and two spares, each under an id other than Rserve's (its watchdog's).
            var isolated = await ProcessChecks.WithinHalfAMinuteAsync(
                () => (rProcesses = [.. ChildrenOf(rserve).Where(pid => UserOf(pid) != rserveUser)]).Count >= 3);
            var ids = rProcesses.Select(UserOf).ToList();
            var capabilities = Status(victimId, "CapEff");

            const string attack = """
                stat <- function(p) strsplit(sub('^.*[)] ', '', readLines(file.path('/proc', p, 'stat'))[1]), ' ')[[1]]
                rserve <- stat('self')[2]
                others <- Filter(function(p) identical(try(stat(p)[2], silent = TRUE), rserve),
                                 setdiff(list.files('/proc', '^[0-9]+$'), Sys.getpid()))
                fails <- function(f) inherits(try(f, silent = TRUE), 'try-error')
                reads <- function(file, f) sum(!vapply(others, function(p) fails(f(file.path('/proc', p, file))), TRUE))
                paste(length(others),
                      reads('environ', function(path) readBin(path, 'raw', 1)),
                      reads('mem', function(path) close(file(path, 'rb'))),
                      sum(tools::pskill(as.integer(c(others, rserve)), 9L)))
                """;
            var attacked = (await r.Client.EvaluateAsync(
                attack, SseFunctionType.Scalar, SseDataType.String, [], Bundle([[]]))).Strings()[0]!.Split(' ');
            await File.WriteAllTextAsync(done, string.Empty);

            Assert.NotEqual(0u, rserveUser);
            Assert.True(isolated, $"R processes under ids other than Rserve's ({rserveUser}): {rProcesses.Count}");
            Assert.Contains(victimId, rProcesses);
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.DoesNotContain(0u, ids);
            Assert.Equal("0000000000000000", capabilities);
            Assert.True(int.Parse(attacked[0], CultureInfo.InvariantCulture) >= 2, "The attacker saw no victim.");
            Assert.Equal(["0", "0", "0"], attacked[1..]);
            Assert.Equal(42, await victim);
        }
        finally
        {
            meeting.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_process_a_call_leaves_in_a_session_of_its_own_ends_with_the_call()
    {
        RequireRoot();
        var answer = await r.Client.EvaluateAsync(
            "as.numeric(system('setsid nohup sleep 300 > /dev/null 2>&1 < /dev/null & echo $!', intern = TRUE))",
            SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));
        var escaped = (int)answer.Numbers()[0];

        try
        {
            Assert.True(escaped > 1);
            Assert.True(
                await ProcessChecks.EndsAsync(escaped),
                $"Process {escaped}, in a session of its own, outlived its call.");
        }
        finally
        {
            if (!ProcessChecks.Ended(escaped))
            {
                Process.GetProcessById(escaped).Kill();
            }
        }
    }

    [Fact]
    public async Task A_call_cancelled_by_the_client_ends_its_R_process()
    {
        RequireRoot();
        using var signals = new RSignals();
        var headers = ScriptHeaders($"{signals.Started}; Sys.sleep(60); 1", SseFunctionType.Scalar,
            SseDataType.Numeric);
        using var cancel = new CancellationTokenSource();
        using var call = r.Client.Connector.EvaluateScript(headers, cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(Bundle([[]]).Message);
        await call.RequestStream.CompleteAsync();
        var process = (await signals.StartedAsync(1)).Single();

        await cancel.CancelAsync();

        var error = await FailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.True(await ProcessChecks.EndsAsync(process), $"The cancelled call's R process {process} still runs.");
    }

    [Fact]
    public async Task A_calls_temporary_files_work_and_are_deleted_with_the_call()
    {
        RequireRoot();
        var answer = await r.Client.EvaluateAsync(
            "f <- tempfile(); write.csv(data.frame(a = 1:3), f, row.names = FALSE); "
                + "c(tempdir(), sum(read.csv(f)$a), format(file.info(tempdir())$mode))",
            SseFunctionType.Tensor, SseDataType.String, OneNumber, Bundle([Numeric(1), Numeric(2), Numeric(3)]));
        var (temp, sum, mode) = (answer.Strings()[0], answer.Strings()[1], answer.Strings()[2]);

        Assert.Equal("6", sum);
        Assert.Equal("700", mode);
        Assert.True(
            await ProcessChecks.WithinHalfAMinuteAsync(() => !Directory.Exists(temp)),
            $"The call's temporary folder {temp} is left after the call.");
    }

    [Fact]
    public async Task A_calls_temporary_folder_is_deleted_with_the_calls_rights_not_roots()
    {
        // Root deleting the folder could be turned onto any file of the machine by a process that swaps a folder
        // inside for a link meanwhile. Deleted as the call's id, a file in a folder the call made read-only stays
        // (that id may not delete it; root would have), while the rest goes.
        RequireRoot();
        var answer = await r.Client.EvaluateAsync(
            "d <- file.path(tempdir(), 'kept'); dir.create(d); writeLines('x', file.path(d, 'file')); "
                + "Sys.chmod(d, '500'); writeLines('x', file.path(tempdir(), 'gone')); tempdir()",
            SseFunctionType.Scalar, SseDataType.String, [], Bundle([[]]));
        var temp = answer.Strings()[0];

        try
        {
            Assert.True(
                await ProcessChecks.WithinHalfAMinuteAsync(() => !File.Exists(Path.Combine(temp, "gone"))),
                $"The call's temporary folder {temp} is left after the call.");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            Assert.True(
                File.Exists(Path.Combine(temp, "kept", "file")),
                "The call's temporary folder was deleted with more rights than the call's own.");
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    [Fact]
    public async Task A_script_cannot_connect_to_Rserve_by_its_socket_or_by_the_address_port() =>
        await CannotReachRserveAsync(r.Client, r.RservePort);

    /// <summary>
    /// A script looks for Rserve's socket (in its configuration, and among every bound Unix socket) and the TCP port
    /// of SsePlugin:Rserve:Address, and tries to open a session of its own there, past the host; then the host still
    /// serves.
    /// </summary>
    private static async Task CannotReachRserveAsync(SseClient client, int addressPort)
    {
        RequireRoot();
        var attack = $$"""
            conf <- try(readLines(file.path(dirname(tempdir()), 'Rserv.conf')), silent = TRUE)
            bound <- sub('^.* ', '', readLines('/proc/net/unix'))
            sockets <- unique(c(grep('sseplugin-rserve', bound, value = TRUE),
                                sub('^socket ', '', grep('^socket ', conf, value = TRUE))))
            probe <- 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(4))'
            greets <- function(path) length(suppressWarnings(
              system2('python3', c('-c', shQuote(probe), shQuote(path)), stdout = TRUE, stderr = FALSE))) > 0
            tcp <- try(socketConnection('127.0.0.1', {{addressPort}}, open = 'r+b', blocking = TRUE, timeout = 2),
                       silent = TRUE)
            paste(sum(vapply(sockets, greets, TRUE)), !inherits(tcp, 'try-error'), length(sockets))
            """;

        var attacked = (await client.EvaluateAsync(
            attack, SseFunctionType.Scalar, SseDataType.String, [], Bundle([[]]))).Strings()[0]!.Split(' ');
        var after = await client.EvaluateAsync(
            "1 + 1", SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]]));

        Assert.Equal(["0", "FALSE"], attacked[..2]);
        Assert.True(int.Parse(attacked[2], CultureInfo.InvariantCulture) >= 1, "The script found no Rserve socket.");
        Assert.Equal([2], after.Numbers());
    }

    [Fact]
    public async Task Ids_that_hold_an_account_stop_the_host_at_start()
    {
        RequireRoot();
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => TestHost.StartAsync(
                "--script-engine", "r", "--start-rserve", "--SsePlugin:Rserve:IsolationIdBase", "1"));

        Assert.Contains("SsePlugin:Rserve:IsolationIdBase is 1", error.Message);
        Assert.Contains("account 'daemon' (1)", error.Message);
    }

    [Fact]
    public async Task Not_isolated_R_runs_as_RunAs_and_the_host_warns_once_that_calls_share_it()
    {
        RequireRoot();
        var log = new LogCapture();
        var port = RserveProcess.FreeLoopbackPort();
        await using var host = await TestHost.StartAsync(
            ["--script-engine", "r", "--start-rserve", "--rserve", $"127.0.0.1:{port}",
                "--SsePlugin:Rserve:IsolationIdBase", "0"],
            log.AddTo);

        var answer = await host.Client.EvaluateAsync(
            "system('id -un', intern = TRUE)", SseFunctionType.Scalar, SseDataType.String, [], Bundle([[]]));
        var warning = await log.WaitForAsync("R calls are not isolated", "IsolationIdBase is 0", "\"nobody\"");

        Assert.Equal(["nobody"], answer.Strings());
        Assert.Contains("signal its R process or Rserve", warning);
        Assert.Single(log.Messages, m => m.Contains("not isolated", StringComparison.Ordinal));

        // R runs as Rserve's account here, yet root holds the socket.
        await CannotReachRserveAsync(host.Client, port);
    }

    /// <summary>Fails, saying why, unless the tests run as root, as CI runs them.</summary>
    internal static void RequireRoot() => Assert.True(
        Environment.IsPrivilegedProcess,
        "This test needs root, as CI runs it: only a host running as root confines R (run tests/run-tests.sh as "
        + "root).");

    private static string Status(int pid, string field) => File.ReadLines($"/proc/{pid}/status")
        .First(line => line.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim();

    private static uint UserOf(int pid) =>
        uint.Parse(Status(pid, "Uid").Split('\t')[0], CultureInfo.InvariantCulture);

    private static int ParentOf(int pid) => int.Parse(Status(pid, "PPid"), CultureInfo.InvariantCulture);

    private static List<int> ChildrenOf(int parent) => [.. Directory.EnumerateDirectories("/proc")
        .Select(Path.GetFileName)
        .Where(name => name!.All(char.IsAsciiDigit))
        .Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
        .Where(pid => !ProcessChecks.Ended(pid) && TryParent(pid) == parent)];

    private static int? TryParent(int pid)
    {
        try
        {
            return ParentOf(pid);
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task R_cannot_read_the_plugins_private_key()
    {
        var folder = Directory.CreateTempSubdirectory("sseplugin-certs-");
        try
        {
            // Only the files' own modes stand in R's way: the folders are open to everyone.
            folder.UnixFileMode = (UnixFileMode)0b111_101_101;
            CertificateGenerator.Generate(folder.FullName, ["localhost"], 1, overwrite: false);
            var plugin = Path.Combine(folder.FullName, CertificateSide.Plugin.Folder);
            var script = $"c(length(readLines('{plugin}/{CertificateSide.RootFile}')) > 0, "
                + $"inherits(try(readLines('{plugin}/{CertificateSide.Plugin.KeyFile}'), silent = TRUE), 'try-error'))";

            var answer = await r.Client.EvaluateAsync(
                script, SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));

            Assert.Equal([1, 1], answer.Numbers());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Processes_a_call_starts_end_with_the_call()
    {
        // A shell's background child (its parent, the shell, gone at once) and a forked R child.
        var answer = await r.Client.EvaluateAsync(
            "as.numeric(c(system('sleep 300 > /dev/null 2>&1 & echo $!', intern = TRUE), "
                + "parallel::mcparallel(Sys.sleep(300))$pid))",
            SseFunctionType.Tensor, SseDataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));
        var processes = answer.Numbers().Select(pid => (int)pid).ToList();

        try
        {
            Assert.Equal(2, processes.Count);
            Assert.All(processes, pid => Assert.True(pid > 1));
            foreach (var pid in processes)
            {
                Assert.True(
                    await ProcessChecks.EndsAsync(pid),
                    $"Process {pid}, started by an R call, runs on after the call.");
            }
        }
        finally
        {
            foreach (var pid in processes.Where(pid => pid > 1 && !ProcessChecks.Ended(pid)))
            {
                try
                {
                    Process.GetProcessById(pid).Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // It ended meanwhile.
                }
            }
        }
    }

    [Fact]
    public async Task A_script_over_the_memory_limit_fails_with_ResourceExhausted_naming_the_setting()
    {
        var error = await FailsAsync(() => ScalarAsync(r.Client, "length(numeric(2.5e8))"));
        var after = await ScalarAsync(r.Client, "length(numeric(1e6))");

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("SsePlugin:Rserve:MemoryLimitMegabytes", error.Status.Detail);
        Assert.Contains("1024 MB", error.Status.Detail);
        Assert.Contains("cannot allocate", error.Status.Detail);
        Assert.Equal(1e6, after);
    }

    /// <summary>Runs a script as a scalar function of no parameters and returns its number.</summary>
    internal static async Task<double> ScalarAsync(SseClient client, string script) =>
        (await client.EvaluateAsync(script, SseFunctionType.Scalar, SseDataType.Numeric, [], Bundle([[]])))
            .EnsureSucceeded().Numbers()[0];
}

/// <summary>A host that runs Rserve itself, with an init script, two sessions and a 1 GB limit per R process.</summary>
public sealed class ConfinedRHostFixture : IAsyncLifetime
{
    private TestHost? _host;

    internal SseClient Client => _host!.Client;

    /// <summary>Gets the port of SsePlugin:Rserve:Address, which Rserve does not listen on (it has a socket).</summary>
    public int RservePort { get; } = RserveProcess.FreeLoopbackPort();

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(
        "--script-engine", "r", "--start-rserve", "--rserve", $"127.0.0.1:{RservePort}",
        "--SsePlugin:Rserve:PoolSize", "2", "--SsePlugin:Rserve:MemoryLimitMegabytes", "1024",
        "--SsePlugin:Rserve:InitScript", RHostFixture.InitScript);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ConfinedRHost : ICollectionFixture<ConfinedRHostFixture>
{
    public const string Name = "Confined R host";
}
