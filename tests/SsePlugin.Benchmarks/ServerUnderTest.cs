using System.Reflection;

namespace SsePlugin.Benchmarks;

/// <summary>
/// A server the tool benchmarks: its built dll and the arguments it is started with (besides <c>--port</c>).
/// </summary>
/// <param name="Name">The name shown in the results.</param>
/// <param name="Dll">The built server dll, started as <c>dotnet Dll --port N Arguments...</c>.</param>
/// <param name="Arguments">Further command-line arguments.</param>
internal sealed record ServerUnderTest(string Name, string Dll, IReadOnlyList<string> Arguments)
{
    /// <summary>Gets SsePlugin.Host, with per-call logging off and metrics on (the default); its admin endpoint on any
    /// free port, as two hosts run side by side.</summary>
    public static ServerUnderTest SsePlugin { get; } = new(
        "SsePlugin",
        BuiltDll("SsePlugin.Host"),
        ["--bind", "127.0.0.1", "--Serilog:MinimumLevel:Default", "Warning", "--admin-port", "0"]);

    /// <summary>Gets SsePlugin.Host as <see cref="SsePlugin"/>, with metrics off: what metrics cost.</summary>
    public static ServerUnderTest SsePluginMetricsOff { get; } = SsePlugin with
    {
        Name = "SsePlugin (metrics off)",
        Arguments = [.. SsePlugin.Arguments, "--SsePlugin:Metrics:Enabled", "false"],
    };

    /// <summary>Gets SsePlugin.Host running scripts in R, with an Rserve it starts itself.</summary>
    public static ServerUnderTest SsePluginR { get; } = SsePlugin with
    {
        Name = "SsePlugin (R)",
        Arguments = [
            .. SsePlugin.Arguments, "--script-engine", "r", "--start-rserve", "--rserve",
            $"127.0.0.1:{ServerProcess.FreePort()}"],
    };

    /// <summary>
    /// Gets SsePlugin.Host running scripts in R as <see cref="SsePluginR"/> does, but reusing R sessions between calls.
    /// </summary>
    public static ServerUnderTest SsePluginRReused { get; } = SsePlugin with
    {
        Name = "SsePlugin (R, ReuseSessions)",
        Arguments =
        [
            .. SsePlugin.Arguments, "--script-engine", "r", "--start-rserve",
            "--rserve", $"127.0.0.1:{ServerProcess.FreePort()}", "--SsePlugin:Rserve:ReuseSessions", "true",
        ],
    };

    /// <summary>Gets SsePlugin.Host running scripts in Python: Debian's, with numpy, where it is installed.</summary>
    public static ServerUnderTest SsePluginPython { get; } = SsePlugin with
    {
        Name = "SsePlugin (Python)",
        Arguments =
        [
            .. SsePlugin.Arguments, "--script-engine", "python",
            .. File.Exists("/usr/bin/python3") ? ["--SsePlugin:Python:Executable", "/usr/bin/python3"] : (string[])[],
        ],
    };

    /// <summary>Gets the plain Grpc.AspNetCore server.</summary>
    public static ServerUnderTest Plain { get; } = new("plain", BuiltDll("SsePlugin.Benchmarks.PlainServer"), []);

    // The project file embeds the paths of the servers built with the tool.
    private static string BuiltDll(string name) =>
        typeof(ServerUnderTest).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Server:" + name)?.Value
        ?? throw new InvalidOperationException($"The path of {name}.dll was not embedded at build time.");
}
