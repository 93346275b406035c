namespace SsePlugin.Rserve.Tests;

/// <summary>
/// Files through which R code and a test wait on each other, in a folder of the test's own: the code says it has
/// started, and may wait until the test releases it.
/// </summary>
internal sealed class RSignals : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _folder = Directory.CreateTempSubdirectory("sseplugin-signals-").FullName;

    /// <summary>Gets R code that says the code has started.</summary>
    public string Started => $"invisible(file.create('{StartedFile}'))";

    /// <summary>Gets R code that waits until the test calls <see cref="Release"/>.</summary>
    public string AwaitRelease => $"while (!file.exists('{ReleaseFile}')) Sys.sleep(0.02)";

    private string StartedFile => Path.Combine(_folder, "started");

    private string ReleaseFile => Path.Combine(_folder, "release");

    /// <summary>Waits until the code has run <see cref="Started"/>.</summary>
    public async Task StartedAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!File.Exists(StartedFile))
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>Lets code waiting in <see cref="AwaitRelease"/> go on.</summary>
    public void Release() => File.WriteAllText(ReleaseFile, string.Empty);

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
