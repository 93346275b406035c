using Grpc.Core;
using Microsoft.AspNetCore.Http;
using SsePlugin.Server.Wire;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// Ends a call whose client keeps it waiting longer than the idle timeout: for its next request message (a client
/// that sends its headers and then nothing), or for room to send an answer (a client that stops reading). Time the
/// function itself takes does not count. One timer per call, which fires once per timeout; a wait costs a timestamp.
/// </summary>
internal sealed class ClientWatch : IAsyncDisposable
{
    private readonly long _timeoutMilliseconds;
    private readonly CancellationTokenSource _cancellation;
    private readonly HttpContext _http;
    private readonly ITimer _timer;

    // When the current wait began (Environment.TickCount64), or 0 while the call does not wait on its client.
    private long _readingSince;
    private long _writingSince;

    /// <summary>Starts watching a call.</summary>
    /// <param name="timeout">How long the call may wait on its client.</param>
    /// <param name="cancellation">The call's cancellation, cancelled when the client keeps it waiting too long.</param>
    /// <param name="http">The call's request, aborted when its answer cannot be sent.</param>
    public ClientWatch(TimeSpan timeout, CancellationTokenSource cancellation, HttpContext http)
    {
        _timeoutMilliseconds = (long)timeout.TotalMilliseconds;
        _cancellation = cancellation;
        _http = http;
        _timer = TimeProvider.System.CreateTimer(
            static watch => ((ClientWatch)watch!).Check(), this, timeout, Timeout.InfiniteTimeSpan);
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

    /// <summary>Marks the call as waiting for the next request message.</summary>
    public void WaitingForRequest() => Volatile.Write(ref _readingSince, Environment.TickCount64);

    /// <summary>Marks the end of a wait for a request message.</summary>
    public void RequestArrived() => Volatile.Write(ref _readingSince, 0);

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
        if (since != 0 && now - since >= _timeoutMilliseconds)
        {
            Ended = writing != 0 ? Wait.Answer : Wait.Request;
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

        var left = since == 0 ? _timeoutMilliseconds : _timeoutMilliseconds - (now - since);
        _timer.Change(TimeSpan.FromMilliseconds(left), Timeout.InfiniteTimeSpan);
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
            Volatile.Write(ref _writingSince, 0);
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
