using Grpc.Core;

namespace SsePlugin.Server.Invocation;

/// <summary>Ends a call with a gRPC status whose message a Qlik author can act on.</summary>
internal sealed class SseCallException(StatusCode statusCode, string message) : Exception(message)
{
    /// <summary>Gets the status the call ends with.</summary>
    public StatusCode StatusCode { get; } = statusCode;
}
