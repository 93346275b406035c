using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

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
