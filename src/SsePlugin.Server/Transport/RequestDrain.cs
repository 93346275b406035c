using Microsoft.AspNetCore.Http;

namespace SsePlugin.Server.Transport;

/// <summary>
/// Reads and discards what is left of a call's request before its status goes out. A call that ends while its
/// client is still sending is reset by Kestrel (RST_STREAM NO_ERROR), which gRPC C-core clients, as Qlik's engine,
/// do not answer: Kestrel then keeps tracking the stream for 5 s, and once 200 such streams are tracked on one
/// connection it refuses every new one there with ENHANCE_YOUR_CALM, valid calls included. A call that fails at its
/// first row or header thus reads the rest, and the stream ends cleanly. Bounded in bytes and time: a client that
/// sends more, or nothing, is reset as before.
/// </summary>
internal static class RequestDrain
{
    /// <summary>The most bytes read and discarded.</summary>
    public const int MaxBytes = 8 * 1024 * 1024;

    /// <summary>The longest time spent waiting for the rest of the request.</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(2);

    /// <summary>Reads the request body to its end, or until <see cref="MaxBytes"/> or <see cref="MaxTime"/>.</summary>
    /// <param name="http">The call's request.</param>
    /// <returns>A task that completes when the body has been read or the drain gave up; it never fails.</returns>
    public static async ValueTask DrainAsync(HttpContext http)
    {
        var body = http.Request.BodyReader;
        try
        {
            // Most calls have read their request to the end: a look at the body settles it.
            if (body.TryRead(out var result))
            {
                body.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            timeout.CancelAfter(MaxTime);
            for (long drained = 0; drained <= MaxBytes;)
            {
                result = await body.ReadAsync(timeout.Token).ConfigureAwait(false);
                drained += result.Buffer.Length;
                body.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Out of time, the client went away, or a read of the call's own is still pending: Kestrel resets the
            // stream, as it would have without the drain.
        }
    }
}
