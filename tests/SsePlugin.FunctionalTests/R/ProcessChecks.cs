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

    /// <summary>Gets whether a process ends within 10 s.</summary>
    public static Task<bool> EndsAsync(int processId) => WithinTenSecondsAsync(() => Ended(processId));

    /// <summary>Gets whether a condition holds within 10 s, checked every 50 ms.</summary>
    public static async Task<bool> WithinTenSecondsAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200; i++)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }
}
