using SsePlugin.FunctionalTests.Infrastructure;

namespace SsePlugin.FunctionalTests.R;

/// <summary>
/// Files through which R scripts and a test wait on each other, in a folder of the test's own: a script says it has
/// started, and may wait until the test releases it.
/// </summary>
internal sealed class RSignals : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-signals-").FullName;

    /// <summary>Gets R code that says the script has started: it creates a file of its own in the folder.</summary>
    public string Started => $"invisible(file.create(tempfile('started', tmpdir = '{_folder}')))";

    /// <summary>Gets R code that waits until the test calls <see cref="Release"/>.</summary>
    public string AwaitRelease => $"while (!file.exists('{ReleaseFile}')) Sys.sleep(0.02)";

    private string ReleaseFile => Path.Combine(_folder, "release");

    /// <summary>Waits until <paramref name="count"/> scripts have run <see cref="Started"/>.</summary>
    public async Task StartedAsync(int count)
    {
        using var timeout = new CancellationTokenSource(SseCalls.CallTimeout);
        while (Directory.GetFiles(_folder, "started*").Length < count)
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>Lets every script waiting in <see cref="AwaitRelease"/> go on.</summary>
    public void Release() => File.WriteAllText(ReleaseFile, string.Empty);

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
