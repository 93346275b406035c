using SsePlugin.Host;

namespace SsePlugin.FunctionalTests.Infrastructure;

/// <summary>Runs the host executable (<c>dotnet SsePlugin.Host.dll</c>) as an administrator would.</summary>
public static class HostProcess
{
    /// <summary>Runs the host until it exits (killed after <see cref="SseCalls.CallTimeout"/>).</summary>
    /// <returns>Its exit code and what it printed.</returns>
    public static Task<HostExit> RunToExitAsync(params string[] args) =>
        RunToExitAsync("dotnet", [typeof(SsePluginHost).Assembly.Location, .. args]);

    /// <summary>
    /// Runs the host until it exits under an account without privileges, as a service account: <c>nobody</c> when
    /// the tests run as root, else the tests' own account.
    /// </summary>
    /// <returns>Its exit code and what it printed.</returns>
    public static Task<HostExit> RunUnprivilegedToExitAsync(params string[] args) =>
        Environment.UserName == "root"
            ? RunToExitAsync(
                "setpriv",
                ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "dotnet",
                    typeof(SsePluginHost).Assembly.Location, .. args])
            : RunToExitAsync(args);

    private static async Task<HostExit> RunToExitAsync(string program, string[] args)
    {
        await using var process = await ChildProcess.RunAsync(program, args, SseCalls.CallTimeout);
        return new HostExit(process.ExitCode, process.Output, process.Errors);
    }
}

/// <summary>How the host executable exited, and what it printed to standard output and to standard error.</summary>
public sealed record HostExit(int ExitCode, string Output, string Errors)
{
    /// <summary>Gets everything it printed.</summary>
    public string Printed => Output + Errors;

    public void Deconstruct(out int exitCode, out string printed) => (exitCode, printed) = (ExitCode, Printed);
}
