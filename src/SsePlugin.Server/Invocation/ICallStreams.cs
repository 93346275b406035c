using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

/// <summary>The request side of a call: its request messages, in the order the client sent them.</summary>
internal interface IRequestReader
{
    /// <summary>Reads the next request message.</summary>
    /// <returns>The message, which the reader of its rows releases; <see langword="null"/> once all have
    /// come.</returns>
    /// <exception cref="CallFailure">The request breaks the protocol or a limit.</exception>
    /// <exception cref="OperationCanceledException">The client cancelled the call or went away.</exception>
    ValueTask<RequestMessage?> ReadAsync();
}

/// <summary>The answer side of a call: Qlik's response headers, the answer's messages, then its trailer.</summary>
internal interface IAnswerWriter
{
    /// <summary>Sends the response headers, once, before any answer message.</summary>
    /// <param name="noStore">Whether the headers tell Qlik not to cache the answer.</param>
    /// <param name="tableDescription">The serialized table description of a described answer, if any.</param>
    ValueTask WriteHeadersAsync(bool noStore, byte[]? tableDescription);

    /// <summary>Sends one answer message; the chunk may be refilled once the returned task completes.</summary>
    ValueTask WriteAsync(ResponseChunk chunk);

    /// <summary>Tells Qlik in the trailer not to cache the answer, for a function that decided so after its headers.
    /// </summary>
    void WriteNoStoreTrailer();
}
