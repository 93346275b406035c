namespace SsePlugin.Server.Invocation;

/// <summary>The rows of a call as a stream, for functions that must not buffer them.</summary>
/// <param name="call">The call whose rows are read.</param>
/// <param name="beforeWaiting">Run before each read of the next message, so that answers are sent as rows arrive.</param>
internal sealed class RowStream(FunctionCall call, Func<ValueTask>? beforeWaiting) : IAsyncEnumerable<SseRow>
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
            if (beforeWaiting is not null)
            {
                await beforeWaiting().ConfigureAwait(false);
            }

            if (await call.ReadBlockAsync().ConfigureAwait(false) is not { } block)
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
