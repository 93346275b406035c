using System.Diagnostics;
using SsePlugin.Host;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>Runs the host executable (<c>dotnet SsePlugin.Host.dll</c>) as an administrator would.</summary>
public static class HostProcess
{
    /// <summary>Runs the host until it exits (killed after <see cref="SseCalls.CallTimeout"/>).</summary>
    /// <returns>Its exit code and what it printed.</returns>
    public static async Task<HostExit> RunToExitAsync(params string[] args)
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

        return new HostExit(process.ExitCode, await output, await errors);
    }
}

/// <summary>How the host executable exited, and what it printed to standard output and to standard error.</summary>
public sealed record HostExit(int ExitCode, string Output, string Errors)
{
    /// <summary>Gets everything it printed.</summary>
    public string Printed => Output + Errors;

    public void Deconstruct(out int exitCode, out string printed) => (exitCode, printed) = (ExitCode, Printed);
}
