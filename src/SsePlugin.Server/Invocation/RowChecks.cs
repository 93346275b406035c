using SsePlugin.Server.Protocol;

namespace SsePlugin.Server.Invocation;

/// <summary>Checks decoded request rows against a function's parameters, failing the call at the first wrong row.
/// </summary>
internal static class RowChecks
{
    // How much of a wrong text a message quotes.
    private const int QuotedChars = 40;

    /// <summary>
    /// Checks the rows of <paramref name="block"/> from <paramref name="from"/> on: each holds one value per
    /// parameter, and a numeric parameter's values hold no text.
    /// </summary>
    /// <param name="function">The function called.</param>
    /// <param name="block">The decoded rows.</param>
    /// <param name="from">The first row to check.</param>
    /// <param name="rowsBefore">The rows of the call read before <paramref name="from"/>, for the row numbers.</param>
    /// <exception cref="CallFailure">A row does not fit the parameters (<see cref="CallFailureKind.InvalidInput"/>).
    /// </exception>
    public static void Check(FunctionDefinition function, RequestBlock block, int from, long rowsBefore)
    {
        var parameters = function.Parameters;
        // The first row sets the width, so a wrong one shows in the first message with rows, at its first row.
        var (wrongRow, width) = block.RowCount > from && block.Width != parameters.Count ? (0, block.Width)
            : block.RaggedRow >= 0 ? (block.RaggedRow - from, block.RaggedRowWidth)
            : (-1, 0);
        if (wrongRow >= 0)
        {
            throw new CallFailure(
                CallFailureKind.InvalidInput,
                $"{function.Name}: row {rowsBefore + wrongRow + 1} holds {width} values but the function takes "
                + $"{parameters.Count} ({function.Signature}). Call it with exactly {parameters.Count} parameter(s).");
        }

        for (var p = 0; p < parameters.Count; p++)
        {
            if (parameters[p].DataType != SseDataType.Numeric || block.Texts(p) is not { } texts)
            {
                continue;
            }

            for (var row = from; row < block.RowCount; row++)
            {
                if (texts[row]!.Length != 0)
                {
                    throw new CallFailure(
                        CallFailureKind.InvalidInput,
                        $"{function.Name}: parameter '{parameters[p].Name}' is numeric but row "
                        + $"{rowsBefore + row - from + 1} holds the text '{Preview(texts[row]!)}'. "
                        + "Pass a number, e.g. Num(...) in Qlik.");
                }
            }
        }
    }

    private static string Preview(string text) =>
        text.Length <= QuotedChars ? text : string.Concat(text.AsSpan(0, QuotedChars), "…");
}
