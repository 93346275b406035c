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
