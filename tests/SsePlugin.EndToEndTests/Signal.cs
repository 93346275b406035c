using System.Diagnostics;
using System.Globalization;

namespace SsePlugin.EndToEndTests;

/// <summary>Sends a Unix signal to one process, by its id, as <c>kill -SIGNAL pid</c> does.</summary>
public static class Signal
{
    /// <summary>Sends the signal, e.g. <c>TERM</c>, and waits until <c>kill</c> has delivered it.</summary>
    public static async Task SendAsync(int processId, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", processId.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {processId} failed with exit code {kill.ExitCode}.");
        }
    }
}
