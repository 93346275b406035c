using SsePlugin.FunctionalTests.Infrastructure;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// Files through which R scripts and a test wait on each other, in a folder of the test's own: a script says it has
/// started, and may wait until the test releases it.
/// </summary>
internal sealed class RSignals : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-signals-").FullName;

    /// <summary>
    /// Creates the folder, open to R's processes whatever their id (a host that isolates R gives each call one of its
    /// own).
    /// </summary>
    public RSignals()
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_folder, (UnixFileMode)0x1FF); // rwxrwxrwx
        }
    }

    /// <summary>
    /// Gets R code that says the script has started: it writes its R process's id to a file of its own in the folder
    /// (written under another name, then renamed, so that the test never reads it half written).
    /// </summary>
    public string Started =>
        $"local({{ f <- tempfile('writing', tmpdir = '{_folder}'); writeLines(as.character(Sys.getpid()), f); "
        + "invisible(file.rename(f, sub('writing', 'started', f))) })";

    /// <summary>Gets R code that waits until the test calls <see cref="Release"/>.</summary>
    public string AwaitRelease => $"while (!file.exists('{ReleaseFile}')) Sys.sleep(0.02)";

    private string ReleaseFile => Path.Combine(_folder, "release");

    /// <summary>Waits until <paramref name="count"/> scripts have run <see cref="Started"/>.</summary>
    /// <returns>The ids of their R processes.</returns>
    public async Task<int[]> StartedAsync(int count)
    {
        using var timeout = new CancellationTokenSource(SseCalls.CallTimeout);
        while (Directory.GetFiles(_folder, "started*").Length < count)
        {
            await Task.Delay(20, timeout.Token);
        }

        return [.. Directory.GetFiles(_folder, "started*").Select(file => int.Parse(
            File.ReadAllText(file), System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>Lets every script waiting in <see cref="AwaitRelease"/> go on.</summary>
    public void Release() => File.WriteAllText(ReleaseFile, string.Empty);

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
