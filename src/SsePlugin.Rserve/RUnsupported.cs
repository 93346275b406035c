namespace SsePlugin.Rserve;

/// <summary>
/// A value the client does not decode, such as a function, an environment, a complex or raw vector, a language
/// object or an S4 object; its bytes are skipped, so receiving one leaves the connection usable. It cannot be sent.
/// </summary>
public sealed class RUnsupported : RValue
{
    internal RUnsupported(int typeCode)
    {
        TypeCode = typeCode;
    }

    /// <summary>
    /// Gets the QAP1 expression type (XT_*) it came as, without the attribute and large-length flags.
    /// </summary>
    public int TypeCode { get; }
}
