namespace SsePlugin.Server.Invocation;

/// <summary>The rows of a call as a stream, for functions that must not buffer them.</summary>
/// <param name="call">The call whose rows are read.</param>
internal sealed class RowStream(FunctionCall call) : IAsyncEnumerable<SseRow>
{
    private bool _enumerated;

    public async IAsyncEnumerator<SseRow> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (_enumerated)
        {
            throw new InvalidOperationException("The rows of a call can be read only once.");
        }

        _enumerated = true;
        while (true)
        {
            if (await call.ReadBlockAsync().ConfigureAwait(false) is not { Rows: var rows })
            {
                yield break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            for (var row = 0; row < rows.RowCount; row++)
            {
                yield return new SseRow(rows, row);
            }
        }
    }
}
