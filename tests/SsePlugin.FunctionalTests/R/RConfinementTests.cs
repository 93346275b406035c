using System.Diagnostics;
using Grpc.Core;
using Qlik.Sse;
using SsePlugin.FunctionalTests.Infrastructure;
using SsePlugin.Host.Security;
using SsePlugin.Rserve;
using static SsePlugin.FunctionalTests.Infrastructure.SseCalls;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// What an R script can do on the machine when the host runs Rserve itself (as root, as the tests do): each call in an
/// R process of its own, under an unprivileged account, with memory and process limits.
/// </summary>
[Collection(ConfinedRHost.Name)]
public sealed class RConfinementTests(ConfinedRHostFixture r)
{
    private static readonly (string, DataType)[] OneNumber = [("x", DataType.Numeric)];

    [Fact]
    public async Task A_script_that_switches_the_reset_off_cannot_affect_later_calls() =>
        await SwitchingTheResetOffChangesNothingAsync(r.Client, sessions: 2);

    /// <summary>
    /// Runs a script that turns the per-call reset off and changes globals, the init script's function, environment
    /// variables, options and the search path, on more calls than the pool has sessions; then checks that later calls
    /// see none of it.
    /// </summary>
    internal static async Task SwitchingTheResetOffChangesNothingAsync(Connector.ConnectorClient client, int sessions)
    {
        const string attack = """
            unlockBinding('reset', .sse); assign('reset', function() NULL, envir = .sse)
            unlockBinding('.sse', globalenv()); times10 <<- function(x) -1
            leak <<- 1; Sys.setenv(SSE_LEAK = 'x'); options(sse.leak = 1); library(splines); 1
            """;
        for (var i = 0; i < 2 * sessions; i++)
        {
            await client.EvaluateAsync(attack, FunctionType.Scalar, DataType.Numeric, [], Bundle([new Row()]));
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, 2 * sessions).Select(_ => client.EvaluateAsync(
            "exists('leak') + (Sys.getenv('SSE_LEAK') != '') + (!is.null(getOption('sse.leak'))) "
                + "+ ('package:splines' %in% search()) + times10(1)",
            FunctionType.Scalar, DataType.Numeric, [], Bundle([new Row()]))));

        Assert.All(answers, a => Assert.Equal([10], a.Numbers()));
    }

    [Fact]
    public async Task R_runs_under_the_unprivileged_account_nobody()
    {
        Assert.True(Environment.IsPrivilegedProcess, "The tests run as root, as CI does: R then runs as nobody.");

        var answer = await r.Client.EvaluateAsync(
            "system('id -un', intern = TRUE)", FunctionType.Scalar, DataType.String, [], Bundle([new Row()]));

        Assert.Equal(["nobody"], answer.Strings());
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
                script, FunctionType.Tensor, DataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));

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
            FunctionType.Tensor, DataType.Numeric, OneNumber, Bundle([Numeric(1), Numeric(2)]));
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
    internal static async Task<double> ScalarAsync(Connector.ConnectorClient client, string script) =>
        (await client.EvaluateAsync(script, FunctionType.Scalar, DataType.Numeric, [], Bundle([new Row()])))
            .Numbers()[0];
}

/// <summary>A host that runs Rserve itself, with an init script, two sessions and a 1 GB limit per R process.</summary>
public sealed class ConfinedRHostFixture : IAsyncLifetime
{
    private TestHost? _host;

    public Connector.ConnectorClient Client => _host!.Client;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync(
        "--script-engine", "r", "--start-rserve", "--rserve", $"127.0.0.1:{RserveProcess.FreeLoopbackPort()}",
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
