using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SsePlugin.Host;
using Xunit;
using Xunit.Sdk;

namespace SsePlugin.InteropTests;

/// <summary>
/// Runs the built host (<c>dotnet SsePlugin.Host.dll</c>) on a loopback port and calls it with qlik_client.py under
/// Debian's <c>/usr/bin/python3</c> (python3-grpcio, python3-protobuf), with stubs that protoc makes from the
/// repository's proto. Missing prerequisites fail every test; they never skip.
/// </summary>
public class InteropFixture : IAsyncLifetime, IDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string HowToInstall =
        "Run tests/run-tests.sh, which installs python3-grpcio, python3-protobuf and protobuf-compiler (protoc) for "
        + "these tests.";

    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly string OutputDirectory = AppContext.BaseDirectory;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly string[] _hostArguments;
    private readonly string _stubs = Directory.CreateTempSubdirectory("sse-interop-").FullName;
    private ChildProcess? _host;
    private string _target = "";

    /// <summary>The host with its default settings.</summary>
    public InteropFixture()
        : this([])
    {
    }

    /// <summary>The host with more command-line arguments.</summary>
    /// <param name="hostArguments">Arguments after <c>--port</c> and <c>--bind</c>.</param>
    protected InteropFixture(params string[] hostArguments) => _hostArguments = hostArguments;

    public async Task InitializeAsync()
    {
        var (code, _, error) = await RunAsync(Python, ["-c", "import grpc, google.protobuf"]);
        Require(code == 0, $"{Python} cannot import grpc and google.protobuf:\n{error}");
        (code, _, error) = await RunAsync(
            "protoc",
            [$"--python_out={_stubs}", "-I", Path.Combine(OutputDirectory, "proto"), "ServerSideExtension.proto"]);
        Require(code == 0, $"protoc could not generate the Python stubs:\n{error}");
        await StartHostAsync();
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Kills the host's process tree and deletes the stubs; safe to call more than once.</summary>
    /// <param name="disposing">Always true: there is no finalizer.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (_host is not null)
        {
            _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _host = null;
        }

        if (Directory.Exists(_stubs))
        {
            Directory.Delete(_stubs, recursive: true);
        }
    }

    /// <summary>
    /// Gets the host name the client connects to; a TLS fixture uses a name on the server certificate.
    /// </summary>
    protected virtual string TargetHost => "127.0.0.1";

    /// <summary>Gets the options the Python client gets by default, e.g. Qlik's certificate folder.</summary>
    protected virtual IReadOnlyList<string> ClientArguments => [];

    /// <summary>Makes one call and checks its result.</summary>
    public Task CallAsync(Call call, Action<CallResult> check) => CallAsync([call], results => check(results[0]));

    /// <summary>
    /// Makes the calls in order on one channel of one Python client and checks the results. A failure carries the
    /// client's error output and what the host logged meanwhile.
    /// </summary>
    public Task CallAsync(IReadOnlyList<Call> calls, Action<IReadOnlyList<CallResult>> check) =>
        CallAsync(calls, check, ClientArguments);

    /// <summary>
    /// Makes the calls with a Python client given these options (see qlik_client.py) and checks the results.
    /// </summary>
    public async Task CallAsync(
        IReadOnlyList<Call> calls, Action<IReadOnlyList<CallResult>> check, IReadOnlyList<string> clientArguments)
    {
        var logged = HostOutputLength();
        var (code, output, error) = await RunAsync(
            Python,
            [Path.Combine(OutputDirectory, "qlik_client.py"), _target, _stubs, .. clientArguments],
            JsonSerializer.Serialize(calls, Json));
        try
        {
            Assert.True(code == 0, $"qlik_client.py exited with code {code}:\n{error}");
            var results = JsonSerializer.Deserialize<CallResult[]>(output, Json)!;
            Assert.Equal(calls.Count, results.Length);
            check(results);
        }
        catch (Exception e) when (e is XunitException or JsonException)
        {
            throw new XunitException($"{e.Message}\n--- host output during the calls ---\n{HostOutput(logged)}", e);
        }
    }

    /// <summary>Runs another Python client of this folder: <c>script HOST:PORT STUBS_DIR arguments...</c>.</summary>
    /// <returns>What the script printed.</returns>
    public async Task<string> RunClientAsync(string script, params string[] arguments)
    {
        var logged = HostOutputLength();
        var (code, output, error) = await RunAsync(
            Python, [Path.Combine(OutputDirectory, script), _target, _stubs, .. arguments]);
        Assert.True(
            code == 0,
            $"{script} exited with code {code}:\n{error}\n--- host output during the calls ---\n{HostOutput(logged)}");
        return output;
    }

    /// <summary>
    /// The call fails with that status and its details hold each part; the plugin then serves the next call.
    /// </summary>
    public Task ExpectFailureAsync(Call call, string code, params string[] detailParts) =>
        CallAsync(
            [call, Call.Execute("HelloWorld", [[Dual.S("still serving")]])],
            results =>
            {
                Assert.Equal(code, results[0].Code);
                foreach (var part in detailParts)
                {
                    Assert.Contains(part, results[0].Details, StringComparison.Ordinal);
                }

                Assert.Empty(results[0].Rows!);
                Assert.Equal("still serving", Assert.Single(results[1].Ok().Column(0)).Str);
            });

    private async Task StartHostAsync()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        _target = $"{TargetHost}:{port}";
        _host = ChildProcess.Start(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            [
                typeof(SsePluginHost).Assembly.Location, "--port", port.ToString(CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1", .. _hostArguments],
            OutputDirectory);

        var waited = Stopwatch.StartNew();
        while (!await AcceptsAsync(port))
        {
            if (_host.HasExited || waited.Elapsed > StartTimeout)
            {
                var state = _host.HasExited
                    ? $"exited with code {_host.ExitCode}"
                    : $"is not listening after {StartTimeout}";
                throw new InvalidOperationException(
                    $"The host {state} ({_target}).\n--- host output ---\n{HostOutput(0)}");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(
        string program, string[] arguments, string input = "")
    {
        Process process;
        try
        {
            process = Process.Start(NewStartInfo(program, arguments))!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{program} could not be started: {e.Message}. {HowToInstall}", e);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(ProcessTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException(
                    $"{program} {string.Join(' ', arguments)} ran longer than {ProcessTimeout}:\n{await error}");
            }

            return (process.ExitCode, await output, await error);
        }
    }

    private static ProcessStartInfo NewStartInfo(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            WorkingDirectory = OutputDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"{problem}\n{HowToInstall}");
        }
    }

    // How many lines the host has written so far, and those written since that many.
    private int HostOutputLength() => _host?.Lines.Count ?? 0;

    private string HostOutput(int from) => string.Join('\n', (_host?.Lines ?? []).Skip(from));
}
