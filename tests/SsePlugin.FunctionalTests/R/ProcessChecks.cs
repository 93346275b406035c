namespace SsePlugin.FunctionalTests.R;

/// <summary>Whether processes the tests watch (R's, Rserve's) have ended.</summary>
internal static class ProcessChecks
{
    /// <summary>Gets whether a process has ended, or is left a zombie (which its new parent may take a while to reap).
    /// </summary>
    public static bool Ended(int processId)
    {
        try
        {
            return File.ReadAllText($"/proc/{processId}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Gets whether a process ends within half a minute (at once, unless the machine is loaded).</summary>
    public static Task<bool> EndsAsync(int processId) => WithinHalfAMinuteAsync(() => Ended(processId));

    /// <summary>Gets whether a condition holds within half a minute, checked every 50 ms.</summary>
    public static async Task<bool> WithinHalfAMinuteAsync(Func<bool> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
