using System.Diagnostics;
using SsePlugin.Server.Observability;

namespace SsePlugin.JavaScript;

/// <summary>
/// The turns one call's script takes on the processors. Scripts run on the thread pool and keep their thread while
/// they run, so at most one script per processor runs at once: others wait without holding a thread, and a handful of
/// runaway scripts cannot leave the host without threads to serve other calls. Time is counted only during turns,
/// so neither that wait nor the wait for Qlik's next rows counts against the call's time limit.
/// </summary>
internal sealed class ScriptTurns(SemaphoreSlim processors, CancellationTokenSource deadline, TimeSpan allowed)
{
    private TimeSpan _used;
    private long _started;

    /// <summary>
    /// Waits for a processor, then lets the script run for what is left of its time; dispose the turn to end it.
    /// </summary>
    /// <param name="cancellationToken">The call's cancellation, which ends the wait.</param>
    public async ValueTask<Turn> TakeAsync(CancellationToken cancellationToken)
    {
        // A turn that finds every processor taken is counted as waiting, and its wait measured.
        if (!processors.Wait(0, CancellationToken.None))
        {
            var waiting = Stopwatch.GetTimestamp();
            SseMeter.JavaScriptWaitStarted();
            try
            {
                await processors.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                SseMeter.JavaScriptWaitEnded(Stopwatch.GetElapsedTime(waiting).TotalSeconds);
            }
        }

        _started = Stopwatch.GetTimestamp();
        deadline.CancelAfter(allowed > _used ? allowed - _used : TimeSpan.Zero);
        return new Turn(this);
    }

    private void End()
    {
        deadline.CancelAfter(Timeout.InfiniteTimeSpan);
        _used += Stopwatch.GetElapsedTime(_started);
        processors.Release();
    }

    /// <summary>A turn on a processor; disposing it gives the processor back and stops the clock.</summary>
    internal readonly struct Turn(ScriptTurns turns) : IDisposable
    {
        public void Dispose() => turns.End();
    }
}
