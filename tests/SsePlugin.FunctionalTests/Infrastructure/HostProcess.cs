using System.Diagnostics;
using SsePlugin.Host;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>Runs the host executable (<c>dotnet SsePlugin.Host.dll</c>) as an administrator would.</summary>
public static class HostProcess
{
    /// <summary>Runs the host until it exits (killed after <see cref="SseCalls.CallTimeout"/>).</summary>
    /// <returns>Its exit code and everything it printed.</returns>
    public static async Task<(int ExitCode, string Printed)> RunToExitAsync(params string[] args)
    {
        var host = typeof(SsePluginHost).Assembly.Location;
        using var process = Process.Start(new ProcessStartInfo("dotnet", [host, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(SseCalls.CallTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }

        return (process.ExitCode, await output + await errors);
    }
}
