using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// The rows of one request message in arrays of their own, as <see cref="FunctionCall.ReadBlockAsync"/> reads them;
/// <see cref="FunctionCall.ReadAllAsync"/> can continue from it.
/// </summary>
internal sealed class RowBlock
{
    internal RowBlock(RequestBlock decoded, SseTable rows)
    {
        Decoded = decoded;
        Rows = rows;
    }

    /// <summary>Gets the rows, which the caller may keep.</summary>
    public SseTable Rows { get; }

    /// <summary>Gets the decoded columns behind <see cref="Rows"/>, which reading on appends to.</summary>
    internal RequestBlock Decoded { get; }
}
