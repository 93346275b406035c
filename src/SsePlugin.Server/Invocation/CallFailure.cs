namespace SsePlugin.Server.Invocation;

/// <summary>Ends a call with a message a Qlik author can act on; the transport turns its kind into a status.</summary>
/// <param name="kind">What went wrong, as the transport reports it.</param>
/// <param name="message">What went wrong and what to do.</param>
/// <param name="innerException">The failure behind it, when the host must know it (an out-of-memory).</param>
internal sealed class CallFailure(CallFailureKind kind, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>Gets what went wrong.</summary>
    public CallFailureKind Kind { get; } = kind;
}

/// <summary>The kinds of failure a call can end with, each reported to Qlik as its own status.</summary>
internal enum CallFailureKind
{
    /// <summary>The request is wrong: its headers, rows or script (gRPC <c>InvalidArgument</c>).</summary>
    InvalidInput,

    /// <summary>
    /// The call needs more than a limit allows: memory, message size, calls (<c>ResourceExhausted</c>).
    /// </summary>
    LimitExceeded,

    /// <summary>The function or script ran past a time limit of the host's (<c>DeadlineExceeded</c>).</summary>
    TimeLimitExceeded,

    /// <summary>What the call needs is not available now, such as Rserve; a retry may work (<c>Unavailable</c>).
    /// </summary>
    Unavailable,

    /// <summary>A script engine is set up wrongly, such as an R init script that fails (<c>FailedPrecondition</c>).
    /// </summary>
    EngineMisconfigured,

    /// <summary>The function answered a shape it did not declare, such as too few rows (<c>Internal</c>).</summary>
    WrongAnswer,

    /// <summary>The function id is not in the catalog (<c>NotFound</c>).</summary>
    UnknownFunction,

    /// <summary>The connection does not allow what was asked, such as scripts (<c>PermissionDenied</c>).</summary>
    NotAllowed,
}
