namespace SsePlugin.Server.Invocation;

/// <summary>The answer column of a per-row or streaming function: reused buffers, flushed to the response in bundles.</summary>
internal sealed class RowOutput(SseDataType dataType, ResponseWriter response)
{
    /// <summary>How many streamed answers are gathered before they are sent.</summary>
    public const int StreamBundleRows = 4096;

    private double[] _numbers = [];
    private string?[] _strings = [];

    /// <summary>Gets the number of answers waiting to be sent.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the number buffer; valid up to the capacity given to <see cref="Prepare"/>.</summary>
    public double[] Numbers => _numbers;

    /// <summary>Gets the text buffer; valid up to the capacity given to <see cref="Prepare"/>.</summary>
    public string?[] Strings => _strings;

    /// <summary>Makes room for <paramref name="rows"/> answers written by index, replacing any pending ones.</summary>
    public void Prepare(int rows)
    {
        Count = 0;
        Ensure(rows);
        Count = rows;
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

    /// <summary>Sends the pending answers.</summary>
    public async ValueTask FlushAsync()
    {
        if (Count == 0)
        {
            return;
        }

        var column = new SseColumn(
            string.Empty,
            dataType,
            dataType == SseDataType.String ? null : _numbers,
            dataType == SseDataType.Numeric ? null : _strings,
            Count);
        await response.WriteAsync([column], Count).ConfigureAwait(false);
        Count = 0;
    }

    private void Ensure(int capacity)
    {
        if (capacity <= Math.Max(_numbers.Length, _strings.Length))
        {
            return;
        }

        var size = Math.Max(capacity, Math.Max(_numbers.Length, _strings.Length) * 2);
        if (dataType != SseDataType.String)
        {
            Array.Resize(ref _numbers, size);
        }

        if (dataType != SseDataType.Numeric)
        {
            Array.Resize(ref _strings, size);
        }
    }
}
