namespace SsePlugin.Server.Invocation;

/// <summary>The rows of a call as a stream, for functions that must not buffer them.</summary>
/// <param name="call">The call whose rows are read.</param>
/// <param name="pending">Answers to send whenever the stream would wait for Qlik, if the function streams answers.</param>
internal sealed class RowStream(FunctionCall call, RowOutput? pending) : IAsyncEnumerable<SseRow>
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
            if (await call.ReadBlockAsync(pending).ConfigureAwait(false) is not { } block)
            {
                yield break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            for (var row = 0; row < block.RowCount; row++)
            {
                yield return new SseRow(block, row);
            }
        }
    }
}
