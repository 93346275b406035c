using Grpc.Core;
using Microsoft.AspNetCore.Http;
using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Transport;

/// <summary>
/// Ends a call whose client keeps it waiting too long: longer than the idle timeout at once, or longer than the wait
/// limit in all, for its next request message (a client that sends its headers and then nothing, or a tiny message
/// now and then) or for room to send an answer (a client that stops reading, or reads slowly). Time the function
/// itself takes does not count. One timer per call, which fires when the next limit could pass; a wait costs two
/// timestamps.
/// </summary>
internal sealed class ClientWatch : IAsyncDisposable
{
    private readonly long _timeoutMilliseconds;
    private readonly long _limitMilliseconds;
    private readonly CancellationTokenSource _cancellation;
    private readonly HttpContext _http;
    private readonly ITimer _timer;

    // When the current wait began (Environment.TickCount64), or 0 while the call does not wait on its client.
    private long _readingSince;
    private long _writingSince;

    // The waits that have ended, in all. A write while the call waits for a request is part of that wait.
    private long _waitedMilliseconds;

    /// <summary>Starts watching a call.</summary>
    /// <param name="timeout">How long the call may wait on its client at once; zero for no limit.</param>
    /// <param name="limit">How long the call may wait on its client in all; zero for no limit.</param>
    /// <param name="cancellation">The call's cancellation, cancelled when the client keeps it waiting too long.</param>
    /// <param name="http">The call's request, aborted when its answer cannot be sent.</param>
    public ClientWatch(TimeSpan timeout, TimeSpan limit, CancellationTokenSource cancellation, HttpContext http)
    {
        _timeoutMilliseconds = timeout > TimeSpan.Zero ? (long)timeout.TotalMilliseconds : long.MaxValue;
        _limitMilliseconds = limit > TimeSpan.Zero ? (long)limit.TotalMilliseconds : long.MaxValue;
        _cancellation = cancellation;
        _http = http;
        _timer = TimeProvider.System.CreateTimer(
            static watch => ((ClientWatch)watch!).Check(),
            this,
            TimeSpan.FromMilliseconds(Math.Min(_timeoutMilliseconds, _limitMilliseconds)),
            Timeout.InfiniteTimeSpan);
    }

    /// <summary>What the client kept the call waiting for, once the watch has ended the call.</summary>
    public enum Wait
    {
        /// <summary>The call has not been ended.</summary>
        None,

        /// <summary>The client sent no request message.</summary>
        Request,

        /// <summary>The client took no answer.</summary>
        Answer,
    }

    /// <summary>Gets what the client kept the call waiting for, if the watch ended the call.</summary>
    public Wait Ended { get; private set; }

    /// <summary>Gets whether the watch ended the call for its waits in all, rather than for one long wait.</summary>
    public bool EndedOverLimit { get; private set; }

    /// <summary>Marks the call as waiting for the next request message.</summary>
    public void WaitingForRequest() => Volatile.Write(ref _readingSince, Environment.TickCount64);

    /// <summary>Marks the end of a wait for a request message.</summary>
    public void RequestArrived() => EndWait(ref _readingSince, counts: true);

    /// <summary>Wraps the call's response stream so that writes the client keeps waiting are watched.</summary>
    /// <param name="responses">The response stream.</param>
    /// <returns>The watched stream.</returns>
    public IServerStreamWriter<ResponseChunk> Watch(IServerStreamWriter<ResponseChunk> responses) =>
        new WatchedResponses(responses, this);

    public ValueTask DisposeAsync() => _timer.DisposeAsync();

    private void Check()
    {
        var now = Environment.TickCount64;
        var reading = Volatile.Read(ref _readingSince);
        var writing = Volatile.Read(ref _writingSince);
        // A call sends pending answers while it waits for rows, and reads none meanwhile: a write is what it waits on.
        var since = writing != 0 ? writing : reading;
        var waiting = since == 0 ? 0 : now - since;
        var waited = Interlocked.Read(ref _waitedMilliseconds) + (reading != 0 ? now - reading : waiting);
        if (waiting >= _timeoutMilliseconds || waited >= _limitMilliseconds)
        {
            Ended = writing != 0 ? Wait.Answer : Wait.Request;
            EndedOverLimit = waiting < _timeoutMilliseconds;
            try
            {
                _cancellation.Cancel();
            }
            catch (AggregateException)
            {
                // A callback the function registered on its token failed; on this timer's thread it would end the host.
            }

            if (Ended == Wait.Answer)
            {
                // A write held by flow control heeds no token: only resetting the stream ends it.
                _http.Abort();
            }

            return;
        }

        _timer.Change(
            TimeSpan.FromMilliseconds(Math.Min(_timeoutMilliseconds - waiting, _limitMilliseconds - waited)),
            Timeout.InfiniteTimeSpan);
    }

    // Ends a wait, and adds it to the waits in all if it counts (a write during a wait for a request does not).
    private void EndWait(ref long waitingSince, bool counts)
    {
        var since = Interlocked.Exchange(ref waitingSince, 0);
        if (since != 0 && counts)
        {
            Interlocked.Add(ref _waitedMilliseconds, Environment.TickCount64 - since);
        }
    }

    private async Task WritingAsync(Task writing)
    {
        Volatile.Write(ref _writingSince, Environment.TickCount64);
        try
        {
            await writing.ConfigureAwait(false);
        }
        finally
        {
            EndWait(ref _writingSince, counts: Volatile.Read(ref _readingSince) == 0);
        }
    }

    private sealed class WatchedResponses(IServerStreamWriter<ResponseChunk> responses, ClientWatch watch)
        : IServerStreamWriter<ResponseChunk>
    {
        public WriteOptions? WriteOptions
        {
            get => responses.WriteOptions;
            set => responses.WriteOptions = value;
        }

        // Only a write that does not complete at once is watched, at the cost of its await.
        public Task WriteAsync(ResponseChunk message)
        {
            var writing = responses.WriteAsync(message);
            return writing.IsCompleted ? writing : watch.WritingAsync(writing);
        }
    }
}
