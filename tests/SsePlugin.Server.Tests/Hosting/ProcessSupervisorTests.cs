using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SsePlugin.Server.Hosting;

namespace SsePlugin.Server.Tests.Hosting;

/// <summary>The supervisor of the host's child processes (Rserve, the Python worker), with a real process.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProcessSupervisorTests
{
    private static readonly RestartPauses Pauses = new(
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    [Fact]
    public async Task A_start_that_finishes_after_disposal_began_ends_its_process()
    {
        var startable = new TaskCompletionSource();
        Sleep? started = null;
        var supervisor = new ProcessSupervisor<Sleep>(
            "sleep",
            async _ =>
            {
                await startable.Task;
                return started = new Sleep();
            },
            Pauses,
            null,
            NullLogger.Instance);

        var start = supervisor.StartAsync(CancellationToken.None);
        var disposal = supervisor.DisposeAsync().AsTask();
        startable.SetResult();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => start);
        await disposal;
        Assert.True(started!.Exited.IsCompleted);
    }

    // `sleep 60`, killed when disposed.
    private sealed class Sleep : ISupervisedProcess
    {
        private readonly Process _process = Process.Start("sleep", "60");

        public int ProcessId => _process.Id;

        public Task Exited => _process.WaitForExitAsync();

        public string ExitReport => "ended";

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
