using System.Runtime.CompilerServices;

namespace SsePlugin.Server.Invocation;

/// <summary>
/// The answer column of a per-row or streaming function: reused buffers, flushed to the response in bundles, and
/// whenever the call waits for Qlik's next rows.
/// </summary>
internal sealed class RowOutput
{
    /// <summary>
    /// How many answers are gathered before they are sent while more rows are already waiting; answers are sent
    /// sooner whenever the call would otherwise wait for Qlik. Small enough that the buffers stay off the large
    /// object heap.
    /// </summary>
    public const int BundleRows = 8 * 1024;

    /// <summary>
    /// How long after the last bundle answers stop waiting for a bundle to fill: a slow function's answers still go
    /// out as they come.
    /// </summary>
    public const int MaxDelayMilliseconds = 100;

    private readonly SseDataType _dataType;
    private readonly ResponseWriter _response;

    // A coarse clock is enough for the delay, and cheap to read for every answer.
    private long _lastFlush = Environment.TickCount64;
    private double[] _numbers = [];
    private string?[] _strings = [];

    /// <summary>
    /// Starts the answer column of a call, which its response sends whenever the call waits for rows.
    /// </summary>
    /// <param name="dataType">The data type of the answers.</param>
    /// <param name="response">The call's answer.</param>
    public RowOutput(SseDataType dataType, ResponseWriter response)
    {
        _dataType = dataType;
        _response = response;
        response.Pending = this;
    }

    /// <summary>Gets the number of answers waiting to be sent.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the number buffer; valid up to <see cref="Count"/>.</summary>
    public double[] Numbers => _numbers;

    /// <summary>Gets the text buffer; valid up to <see cref="Count"/>.</summary>
    public string?[] Strings => _strings;

    /// <summary>
    /// Makes room for <paramref name="rows"/> more answers, written by index from the position returned.
    /// </summary>
    /// <returns>The index of the first reserved answer.</returns>
    public int Reserve(int rows)
    {
        Ensure(Count + rows);
        var start = Count;
        Count += rows;
        return start;
    }

    /// <summary>Appends a numeric answer.</summary>
    public void Add(double value)
    {
        Ensure(Count + 1);
        _numbers[Count++] = value;
    }

    /// <summary>Appends a text answer.</summary>
    public void Add(string? value)
    {
        Ensure(Count + 1);
        _strings[Count++] = value;
    }

    /// <summary>Appends a dual answer.</summary>
    public void Add(SseDual value)
    {
        Ensure(Count + 1);
        _numbers[Count] = value.Number;
        _strings[Count++] = value.Text;
    }

    /// <summary>
    /// Sends the pending answers once a bundle is full, or once <see cref="MaxDelayMilliseconds"/> have passed since
    /// the last bundle.
    /// </summary>
    public ValueTask FlushIfFullAsync() =>
        Count >= BundleRows || (Count > 0 && Environment.TickCount64 - _lastFlush >= MaxDelayMilliseconds)
            ? FlushAsync()
            : ValueTask.CompletedTask;

    /// <summary>Sends the pending answers.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync()
    {
        if (Count == 0)
        {
            return;
        }

        var column = new SseColumn(
            string.Empty,
            _dataType,
            _dataType == SseDataType.String ? null : _numbers,
            _dataType == SseDataType.Numeric ? null : _strings,
            Count);
        await _response.WriteAsync([column], Count).ConfigureAwait(false);
        Count = 0;
        _lastFlush = Environment.TickCount64;
    }

    private void Ensure(int capacity)
    {
        if (capacity <= Math.Max(_numbers.Length, _strings.Length))
        {
            return;
        }

        var size = Math.Max(capacity, Math.Max(_numbers.Length, _strings.Length) * 2);
        if (_dataType != SseDataType.String)
        {
            Array.Resize(ref _numbers, size);
        }

        if (_dataType != SseDataType.Numeric)
        {
            Array.Resize(ref _strings, size);
        }
    }
}
