using Grpc.Core;

namespace SsePlugin.Server.Invocation;

/// <summary>Ends a call with a gRPC status whose message a Qlik author can act on.</summary>
/// <param name="statusCode">The status the call ends with.</param>
/// <param name="message">What went wrong and what to do.</param>
/// <param name="innerException">The failure behind it, when the host must know it (an out-of-memory).</param>
internal sealed class SseCallException(StatusCode statusCode, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>Gets the status the call ends with.</summary>
    public StatusCode StatusCode { get; } = statusCode;
}
