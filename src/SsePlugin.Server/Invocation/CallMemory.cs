using System.Diagnostics;
using System.Runtime;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// The memory running calls hold in rows read whole, and its return to the machine once large calls have ended.
/// The garbage collector keeps the memory it has committed for later use, and an idle host collects nothing, so
/// without this the host would keep its largest call's peak for as long as it idles, next to a Qlik engine that
/// needs the memory.
/// </summary>
/// <remarks>
/// Once calls that held <see cref="GiveBackBytes"/> in all have ended since the last time, or a call ran out of
/// memory, the host waits until it is quiet: no call has ended for a second, none holds that much itself (the
/// compaction would copy it; its end gives the memory back), and the last time was five seconds ago or more. Then a
/// compacting full collection that decommits what it frees runs on the thread pool. A host busy with calls reuses its
/// memory instead.
/// </remarks>
internal static class CallMemory
{
    /// <summary>The memory calls must have held since the last time for the host to give memory back again.</summary>
    public const long GiveBackBytes = 64L * 1024 * 1024;

    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly Timer GiveBackTimer = new(static _ => GiveBackWhenQuiet());

    private static long _held;
    private static long _heldSinceGiveBack;
    private static long _lastCallEnded;
    private static long _lastGiveBack;
    private static int _scheduled;

    /// <summary>Counts memory a running call has come to hold, or has let go of when negative.</summary>
    public static void Hold(long bytes) => Interlocked.Add(ref _held, bytes);

    /// <summary>Lets go of what an ended call held; gives memory back to the machine when calls held much.</summary>
    /// <param name="bytes">What the call held.</param>
    /// <param name="exhausted">Whether the call ended for want of memory.</param>
    public static void Release(long bytes, bool exhausted)
    {
        Volatile.Write(ref _lastCallEnded, Stopwatch.GetTimestamp());
        if (bytes == 0 && !exhausted)
        {
            return;
        }

        Interlocked.Add(ref _held, -bytes);
        if ((Interlocked.Add(ref _heldSinceGiveBack, bytes) >= GiveBackBytes || exhausted)
            && Interlocked.Exchange(ref _scheduled, 1) == 0)
        {
            GiveBackTimer.Change(Quiet, Timeout.InfiniteTimeSpan);
        }
    }

    private static void GiveBackWhenQuiet()
    {
        if (Volatile.Read(ref _held) >= GiveBackBytes
            || Stopwatch.GetElapsedTime(Volatile.Read(ref _lastCallEnded)) < Quiet
            || Stopwatch.GetElapsedTime(Volatile.Read(ref _lastGiveBack)) < Interval)
        {
            GiveBackTimer.Change(Quiet, Timeout.InfiniteTimeSpan);
            return;
        }

        Interlocked.Exchange(ref _heldSinceGiveBack, 0);
        Volatile.Write(ref _scheduled, 0);
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Volatile.Write(ref _lastGiveBack, Stopwatch.GetTimestamp());
    }
}
