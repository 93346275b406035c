namespace SsePlugin.Rserve;

/// <summary>Rserve could not be reached, refused a command, or R reported an error.</summary>
public sealed class RserveException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, in words.</param>
    /// <param name="status">The status of Rserve's error reply, if the failure is one.</param>
    /// <param name="inner">The exception that caused this one, if any.</param>
    public RserveException(string message, int? status = null, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
    }

    /// <summary>
    /// Gets the status of Rserve's error reply (<c>(reply &gt;&gt; 24) &amp; 127</c>): 127 for an R error, 2 or 3 for a
    /// script that does not parse, 0x41 and up for Rserve's own ERR_* codes; <see langword="null"/> when there was no
    /// reply.
    /// </summary>
    public int? Status { get; }
}
